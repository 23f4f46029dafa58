// Strings of the duty-officer features (safety-check preview, critical alarms, two-party handover) in both languages.
import { addStrings } from "./i18n.js";

export const zh = {
  safety_preview: "预览：营业时间内运行，不开告警、不可签字。",
  run_full: "仍执行正式检查（不合格项将开告警）",
  run_full_confirm: "现在仍在营业时间内，正式检查会为每个不合格项开告警。确定执行？",
  trigger_preview: "营业时间预览",
  duty_uploading: "已收到各窗口状态，正在等待图片上传…",
  critical_alarm: "严重告警", acknowledge_alarm: "确认收到并停止警报", alarm_more: "另有 {n} 条严重告警待确认",
  handover_open_alerts: "未处理告警", handover_last_safety: "最近一次下班安全检查", handover_none: "无",
  handover_to_user: "接班人（账号）", handover_draw: "交班人手写签名", handover_clear: "清除",
  handover_sign_needed: "请在签名框内手写签名", handover_pending: "待接班人确认",
  handover_accept: "接班确认并签名", handover_accepted: "已交接", handover_received: "接班确认",
  handover_for_you: "有交接班等待您确认", handover_choose: "请选择接班人",
  feed_location: "位置", feed_group: "合并相同告警", feed_more: "加载更多", feed_export: "导出 CSV",
  cam_slow: "帧率不足", fps_of: "{fps} / {expected} fps",
};
export const en = {
  safety_preview: "Preview: run during service hours; opens no alerts and cannot be signed.",
  run_full: "Run the full check anyway (failed items open alerts)",
  run_full_confirm: "The hall is still in service hours; the full check opens an alert for every failed item. Run it?",
  trigger_preview: "Service-hours preview",
  duty_uploading: "Window states received; waiting for the pictures to upload…",
  critical_alarm: "Critical alarm", acknowledge_alarm: "Acknowledge and silence", alarm_more: "{n} more critical alarms to acknowledge",
  handover_open_alerts: "Open alerts", handover_last_safety: "Last safety check", handover_none: "None",
  handover_to_user: "Incoming officer (account)", handover_draw: "Outgoing officer's signature (draw)",
  handover_clear: "Clear", handover_sign_needed: "Please draw your signature in the box",
  handover_pending: "Awaiting the incoming officer", handover_accept: "Accept and sign",
  handover_accepted: "Handed over", handover_received: "Received by",
  handover_for_you: "A handover is waiting for your signature", handover_choose: "Choose the incoming officer",
  feed_location: "Location", feed_group: "Group repeats", feed_more: "Load more", feed_export: "Export CSV",
  cam_slow: "Low frame rate", fps_of: "{fps} / {expected} fps",
};
addStrings(zh, en);
