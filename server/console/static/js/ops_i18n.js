// Strings of the hall operations pages (实时画面, 电子地图, 统计报表, 值班表, 用户管理) in both languages.
import { addStrings } from "./i18n.js";

export const zh = {
  nav_live: "实时画面", ops_live: "实时画面", ops_no_picture: "暂无画面", ops_age_s: "{n} 秒前",
  ops_age_min: "{n} 分钟前", ops_age_h: "{n} 小时前", ops_sees_windows: "可见窗口 {w}",
  ops_live_hint: "边缘端每隔数秒上传各摄像头的低分辨率画面", ops_live_now: "当前画面",
};

export const en = {
  nav_live: "Live view", ops_live: "Live view", ops_no_picture: "No picture yet", ops_age_s: "{n} s ago",
  ops_age_min: "{n} min ago", ops_age_h: "{n} h ago", ops_sees_windows: "sees windows {w}",
  ops_live_hint: "the edge uploads a low-resolution picture of each camera every few seconds", ops_live_now: "Current picture",
};

addStrings(zh, en);
