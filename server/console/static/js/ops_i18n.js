// Strings of the hall operations pages (实时画面, 电子地图, 统计报表, 值班表, 用户管理) in both languages.
import { addStrings } from "./i18n.js";

export const zh = {
  nav_live: "实时画面", ops_live: "实时画面", ops_no_picture: "暂无画面", ops_age_s: "{n} 秒前",
  ops_age_min: "{n} 分钟前", ops_age_h: "{n} 小时前", ops_sees_windows: "可见窗口 {w}",
  ops_live_hint: "边缘端每隔数秒上传各摄像头的低分辨率画面", ops_live_now: "当前画面",
  map_glyph_camera: "摄", map_glyph_exit: "出", map_glyph_sensor: "感",
  nav_stats: "统计报表", stats_period: "统计周期", stats_group: "分组", stats_period_day: "按日", stats_period_week: "按周",
  stats_period_month: "按月", stats_by_rule: "按问题类型", stats_by_window: "按窗口", stats_by_staff: "按人员",
  stats_group_rule: "问题类型", stats_group_window: "窗口", stats_group_staff: "人员", stats_start: "开始日期", stats_end: "结束日期",
  stats_total: "合计", stats_other: "其他", stats_unassigned: "未归属到人（窗口/设备）", stats_no_window: "非窗口区域",
  stats_week_of: "{d}当周", stats_chart_failed: "图表库未能加载，请看下表。", stats_bad_range: "日期范围无效（开始不能晚于结束，最长两年）。",
  stats_kpi_total: "违规告警", stats_kpi_confirmed: "已核实", stats_kpi_critical: "紧急", stats_kpi_dismissed: "误报（未计入）",
  stats_empty: "所选时间内没有告警。", report_title: "督查通报", report_daily: "日报", report_weekly: "周报",
  report_open: "生成督查通报", report_hint: "通报为中文正式文本，可直接打印或另存为 PDF。", report_print: "打印",
  nav_map: "电子地图", map_exit: "安全出口", map_yes: "是", map_no: "否", map_pick_hint: "点击图上的标记查看状态与告警。",
  map_no_alerts: "无未处理告警", map_kind_window: "窗口", map_kind_camera: "摄像头", map_kind_exit: "安全出口",
  map_kind_sensor: "传感器", map_tone_ok: "正常/在岗", map_tone_bad: "空岗/离线", map_tone_alert: "有告警",
  map_tone_critical: "紧急告警", map_tone_unknown: "未知", map_upload: "上传平面图（PNG/JPEG）",
  map_upload_failed: "平面图未保存：{why}", map_edit: "编辑位置", map_edit_done: "完成编辑", map_unplaced: "未放置",
  map_all_placed: "全部已放置。", map_tap_to_place: "在平面图上点击要放置的位置。", map_edit_hint: "从列表选择后点击平面图放置；拖动标记可调整位置。",
  map_summary: "已放置 {placed}/{total} 项 · 未处理告警 {alerts} 条", map_plan_by: "平面图由 {who} 于 {at} 上传",
  map_none: "尚未上传大厅平面图，请联系管理员。", map_none_admin: "尚未上传大厅平面图：请先上传平面图，再放置窗口、摄像头、出口和传感器。",
};

export const en = {
  nav_live: "Live view", ops_live: "Live view", ops_no_picture: "No picture yet", ops_age_s: "{n} s ago",
  ops_age_min: "{n} min ago", ops_age_h: "{n} h ago", ops_sees_windows: "sees windows {w}",
  ops_live_hint: "the edge uploads a low-resolution picture of each camera every few seconds", ops_live_now: "Current picture",
  map_glyph_camera: "C", map_glyph_exit: "E", map_glyph_sensor: "S",
  nav_stats: "Statistics", stats_period: "Period", stats_group: "Group", stats_period_day: "Daily", stats_period_week: "Weekly",
  stats_period_month: "Monthly", stats_by_rule: "By rule", stats_by_window: "By window", stats_by_staff: "By staff",
  stats_group_rule: "Rule", stats_group_window: "Window", stats_group_staff: "Staff", stats_start: "From", stats_end: "To",
  stats_total: "Total", stats_other: "Other", stats_unassigned: "Not charged to a person (window/device)", stats_no_window: "Outside windows",
  stats_week_of: "week of {d}", stats_chart_failed: "The chart library did not load; see the table.", stats_bad_range: "Invalid date range (start after end, or longer than two years).",
  stats_kpi_total: "Violation alerts", stats_kpi_confirmed: "Confirmed", stats_kpi_critical: "Critical", stats_kpi_dismissed: "False positives (not counted)",
  stats_empty: "No alerts in this range.", report_title: "Supervision report (督查通报)", report_daily: "Daily", report_weekly: "Weekly",
  report_open: "Create report", report_hint: "The report is an official text in Chinese; print it or save it as PDF.", report_print: "Print",
  nav_map: "Hall map", map_exit: "Safety exit", map_yes: "yes", map_no: "no", map_pick_hint: "Click a marker on the plan to see its state and alerts.",
  map_no_alerts: "No open alerts", map_kind_window: "Window", map_kind_camera: "Camera", map_kind_exit: "Safety exit",
  map_kind_sensor: "Sensor", map_tone_ok: "OK / staffed", map_tone_bad: "Unstaffed / offline", map_tone_alert: "Open alert",
  map_tone_critical: "Critical alert", map_tone_unknown: "Unknown", map_upload: "Upload floor plan (PNG/JPEG)",
  map_upload_failed: "Floor plan not saved: {why}", map_edit: "Edit positions", map_edit_done: "Done", map_unplaced: "Not placed",
  map_all_placed: "Everything is placed.", map_tap_to_place: "Click the plan where it should go.", map_edit_hint: "Pick an item from the list, then click the plan; drag a marker to move it.",
  map_summary: "{placed}/{total} items placed · {alerts} open alerts", map_plan_by: "floor plan uploaded by {who} at {at}",
  map_none: "No floor plan yet; ask an administrator.", map_none_admin: "No floor plan yet: upload one, then place windows, cameras, exits and sensors.",
};

addStrings(zh, en);
