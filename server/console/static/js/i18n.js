// Console strings: Chinese by default, English switch. t(key, vars) looks up the current language.
const zh = {
  app: "HallWatch 政务大厅监管", login: "登录", logout: "退出", username: "用户名", password: "密码",
  login_failed: "用户名或密码错误", lang_switch: "English", nav_feed: "实时告警", nav_board: "大厅看板",
  nav_duty: "一键查岗", nav_safety: "下班安全检查", nav_patrol: "巡查记录", nav_handover: "交接班",
  role_admin: "管理员", role_supervisor: "督查人员", role_inspector: "值班/巡查人员", role_viewer: "查看者",
  live: "实时", disconnected: "连接中断，正在重连…", new_alert: "新告警", sound_on: "提示音 开", sound_off: "提示音 关",
  hall: "大厅", window: "窗口", rule: "规则", severity: "级别", status: "状态", date: "日期", search: "搜索",
  all: "全部", time: "时间", camera: "摄像头", sensor: "传感器", actions: "操作", open: "查看", none: "无",
  no_alerts: "暂无告警", loading: "加载中…", error: "出错了", comment: "备注",
  sev_info: "提示", sev_warning: "一般", sev_major: "较重", sev_critical: "严重",
  st_open: "待处理", st_acknowledged: "已确认收到", st_confirmed: "已核实", st_dismissed: "误报", st_closed: "已关闭",
  st_escalated: "已升级",
  acknowledge: "确认收到", confirm: "核实违规", dismiss: "标记误报", comment_needed: "请填写备注",
  snapshot: "标注截图", clip: "视频片段", chart: "传感器曲线", timeline: "处理时间线", details: "详情",
  patrol_created: "已生成巡查记录", evidence_none: "无证据文件",
  staffed: "在岗", empty: "空岗", closed: "暂停服务", off_duty: "非工作时间", unknown: "未知",
  uncertain: "待确认",
  empty_since: "空岗自", roster: "AB岗", post_a: "A岗", post_b: "B岗", open_alerts: "未处理告警",
  health: "设备状态", online: "在线", offline: "离线", cameras: "摄像头", sensors: "传感器",
  run_duty: "一键查岗", duty_running: "正在查岗，等待各边缘端回复…", duty_sheet: "查岗结果", print: "打印",
  requested_by: "发起人", windows_answered: "已回复窗口", no_picture: "无画面", history: "历史记录",
  run_safety: "立即检查", safety_item: "检查项", subject: "对象", result: "结果", pass: "合格", fail: "不合格",
  undetermined: "未能确定", outcome: "结论", outcome_passed: "全部合格", outcome_failed: "存在不合格项",
  outcome_incomplete: "部分未能确定", outcome_pending: "等待回复", trigger: "触发", trigger_auto: "自动",
  trigger_manual: "手动", sign_off: "签字确认", signed_by: "签字人", signed_at: "签字时间", download_pdf: "下载PDF",
  category: "类别", description: "描述", photo: "照片", submit: "提交", saved: "已保存", inspector: "巡查人",
  cat_discipline: "工作纪律", cat_service: "服务态度", cat_environment: "环境卫生", cat_safety: "安全隐患",
  cat_equipment: "设施设备", cat_other: "其他",
  handover_from: "交班人", handover_to: "接班人", handover_notes: "交接事项", signature: "签名（姓名）",
  handover_sign: "签字交接", handovers: "交接记录", findings: "巡查记录", forbidden: "无权限执行此操作", duration: "持续时长", persons: "人数", alert: "告警",
  duty_pending: "等待回复", duty_complete: "已完成", duty_failed: "未完成（无回复/发送失败）",
  phase_service: "服务时间", phase_lunch: "午间休息", phase_before_opening: "未到上班时间", phase_after_closing: "已下班",
  phase_closed_day: "休息日", cam_offline: "离线", cam_frozen: "画面冻结", cam_covered: "遮挡", cam_dark: "过暗",
  cam_starting: "启动中", cam_unknown: "未知",

  // 季度考核 (assessment)
  nav_assessment: "季度考核", asm_title: "季度考核", asm_period: "考核期", asm_quarters: "季度", asm_months: "月份",
  tab_windows: "窗口", tab_staff: "工作人员", rank: "排名", name: "名称", base: "基本分", deductions: "扣分",
  bonuses: "加分", score: "实得分", asm_state: "状态", asm_signed: "已签署", asm_provisional: "暂定", asm_live: "未签署",
  doubled: "加倍", asm_frozen_title: "已签署（冻结）", asm_frozen: "由 {by} 于 {at} 签署；之后的更正只能通过“更正”（记录原因）完成。",
  asm_live_note: "实时计算，尚未签署。", asm_provisional_note: "考核期尚未结束，分数为暂定（同一项目当月第3次起加倍扣分，会回溯当月）。",
  asm_empty: "本考核期暂无已核实的违规记录，也无加减分录入；所有对象均为基本分。", asm_select_hint: "点击表格中的一行，查看扣分明细、证据和趋势。",
  export_xlsx: "导出 XLSX", export_pdf: "导出 PDF", export_csv: "导出 CSV", sign_quarter: "签署本季度",
  sign_confirm: "签署后，{hall} {period} 的考核表将冻结，之后只能通过“更正”并记录原因来修改。确认签署？",
  amend: "更正", amend_reason: "更正原因", amend_done: "已记录第 {seq} 次更正", add_entry: "录入加减分",
  entry_item: "考核项目", entry_at: "发生时间", entry_count: "次数", entry_note: "依据/备注", entry_done: "已录入",
  entry_subject_needed: "请选择窗口或工作人员", reassign: "改派", reassign_to: "改派给", window_only: "仅计入窗口（不计个人）",
  reason: "原因", reason_needed: "请填写原因", reassign_done: "已改派",
  reassign_signed_hint: "本季度已签署：改派已记录，执行“更正”后才计入考核表。", verify: "完整性校验",
  verify_ok: "校验通过：考核表哈希 {sha}，已核对 {n} 个证据文件，均与签署时一致。", verify_fail: "校验未通过：",
  verify_unsigned: "完整性校验针对已签署的季度；本期尚未签署。",
  problem_missing: "文件缺失", problem_hash_mismatch: "哈希不一致", problem_broken_chain: "更正链断裂",
  expected: "应为", actual: "实际", breakdown: "考核明细", by_category: "按类别", by_item: "按项目", trend: "月度趋势",
  count: "次数", points: "分值", tier: "档次", evidence: "证据", attribution: "认定依据", person: "责任人",
  line_deduction: "扣分", line_bonus: "加分", line_not_deducted: "不扣分", no_lines: "本期无扣分或加分记录。",
  amendments: "更正记录", sheet_sha: "考核表哈希", rank_of: "第 {rank} 名 / 共 {of}", cancel: "取消", ok: "确定",
  basis_roster_a: "排班A岗", basis_roster_b: "排班B岗", basis_substitute: "排班替岗", basis_edge: "现场识别",
  basis_reassigned: "主管改派", basis_window: "计入窗口", basis_none: "无法确定", basis_entered: "主管录入",
  subject: "考核对象", changes: "变动", nth_in_month: "当月第 {n}/{m} 次", monthly_doubling: "当月同一项目≥{n}次，加倍扣分",
  note_duration_unknown: "时长未知", note_below_tier: "未达最低档时长", note_capped: "已达上限",
  clip_link: "视频",
};
const en = {
  app: "HallWatch Service Hall Supervision", login: "Log in", logout: "Log out", username: "User name",
  password: "Password", login_failed: "Wrong user name or password", lang_switch: "中文", nav_feed: "Live alerts",
  nav_board: "Hall board", nav_duty: "Duty check", nav_safety: "Safety check", nav_patrol: "Patrol log",
  nav_handover: "Handover", role_admin: "Admin", role_supervisor: "Supervisor", role_inspector: "Duty officer",
  role_viewer: "Viewer", live: "Live", disconnected: "Disconnected, reconnecting…", new_alert: "New alert",
  sound_on: "Sound on", sound_off: "Sound off", hall: "Hall", window: "Window", rule: "Rule", severity: "Severity",
  status: "Status", date: "Date", search: "Search", all: "All", time: "Time", camera: "Camera", sensor: "Sensor",
  actions: "Actions", open: "Open", none: "None", no_alerts: "No alerts", loading: "Loading…", error: "Error",
  comment: "Comment", sev_info: "Info", sev_warning: "Warning", sev_major: "Major", sev_critical: "Critical",
  st_open: "Open", st_acknowledged: "Acknowledged", st_confirmed: "Confirmed", st_dismissed: "False positive",
  st_closed: "Closed", st_escalated: "Escalated", acknowledge: "Acknowledge", confirm: "Confirm",
  dismiss: "False positive", comment_needed: "Please enter a comment", snapshot: "Annotated snapshot",
  clip: "Clip", chart: "Sensor chart", timeline: "Timeline", details: "Details",
  patrol_created: "Patrol finding created", evidence_none: "No evidence files", staffed: "Staffed", empty: "Empty",
  closed: "Closed", off_duty: "Off duty", unknown: "Unknown", uncertain: "Uncertain", empty_since: "Empty since", roster: "A/B roster",
  post_a: "A", post_b: "B", open_alerts: "Open alerts", health: "Health", online: "Online", offline: "Offline",
  cameras: "Cameras", sensors: "Sensors", run_duty: "Run duty check",
  duty_running: "Duty check sent, waiting for the edges…", duty_sheet: "Duty check sheet", print: "Print",
  requested_by: "Requested by", windows_answered: "Windows answered", no_picture: "No picture", history: "History",
  run_safety: "Check now", safety_item: "Item", subject: "Subject", result: "Result", pass: "Pass", fail: "Fail",
  undetermined: "Undetermined", outcome: "Outcome", outcome_passed: "All passed", outcome_failed: "Failed items",
  outcome_incomplete: "Incomplete", outcome_pending: "Waiting", trigger: "Trigger", trigger_auto: "Automatic",
  trigger_manual: "On demand", sign_off: "Sign off", signed_by: "Signed by", signed_at: "Signed at",
  download_pdf: "Download PDF", category: "Category", description: "Description", photo: "Photo", submit: "Submit",
  saved: "Saved", inspector: "Inspector", cat_discipline: "Work discipline", cat_service: "Service attitude",
  cat_environment: "Environment", cat_safety: "Safety hazard", cat_equipment: "Equipment", cat_other: "Other",
  handover_from: "Handing over", handover_to: "Taking over", handover_notes: "Handover notes",
  signature: "Signature (name)", handover_sign: "Sign handover", handovers: "Handovers", findings: "Patrol findings",
  forbidden: "You are not allowed to do this", duration: "Duration", persons: "Persons", alert: "Alert",
  duty_pending: "Waiting", duty_complete: "Complete", duty_failed: "Failed (no answer / not sent)",
  phase_service: "Service hours", phase_lunch: "Lunch break", phase_before_opening: "Before opening",
  phase_after_closing: "After closing", phase_closed_day: "Closed day", cam_offline: "Offline", cam_frozen: "Frozen",
  cam_covered: "Covered", cam_dark: "Too dark", cam_starting: "Starting", cam_unknown: "Unknown",

  nav_assessment: "Assessment", asm_title: "Quarterly assessment", asm_period: "Period", asm_quarters: "Quarters",
  asm_months: "Months", tab_windows: "Windows", tab_staff: "Staff", rank: "Rank", name: "Name", base: "Base",
  deductions: "Deductions", bonuses: "Bonuses", score: "Score", asm_state: "State", asm_signed: "Signed off",
  asm_provisional: "Provisional", asm_live: "Not signed", doubled: "doubled",
  asm_frozen_title: "Signed off (frozen)", asm_frozen: "by {by} at {at}; later corrections only as amendments with a reason.",
  asm_live_note: "Computed live, not signed off yet.",
  asm_provisional_note: "The period is not over: scores are provisional (a 3rd occurrence of an item in a month doubles that month's deductions for it).",
  asm_empty: "No confirmed findings and no entries in this period yet; everyone has the base score.",
  asm_select_hint: "Click a row for its breakdown, evidence and trend.",
  export_xlsx: "Export XLSX", export_pdf: "Export PDF", export_csv: "Export CSV", sign_quarter: "Sign off quarter",
  sign_confirm: "After sign-off the sheet of {hall} {period} is frozen; later changes only as amendments with a reason. Sign off?",
  amend: "Amend", amend_reason: "Reason for the amendment", amend_done: "Amendment {seq} recorded",
  add_entry: "Add entry", entry_item: "Item", entry_at: "When", entry_count: "Count", entry_note: "Basis / note",
  entry_done: "Entry saved", entry_subject_needed: "Choose a window or a staff member", reassign: "Reassign",
  reassign_to: "Charge to", window_only: "The window only (no person)", reason: "Reason",
  reason_needed: "Please give a reason", reassign_done: "Reassigned",
  reassign_signed_hint: "This quarter is signed off: the reassignment is recorded and takes effect with an amendment.",
  verify: "Verify integrity", verify_ok: "Verified: sheet hash {sha}; {n} evidence files re-hashed, all as signed.",
  verify_fail: "Verification failed:", verify_unsigned: "Integrity is verified for signed-off quarters; this period is not signed.",
  problem_missing: "missing file", problem_hash_mismatch: "hash mismatch", problem_broken_chain: "broken amendment chain",
  expected: "expected", actual: "actual", breakdown: "Breakdown", by_category: "By category", by_item: "By item",
  trend: "Monthly trend", count: "Count", points: "Points", tier: "Tier", evidence: "Evidence",
  attribution: "Attribution", person: "Person", line_deduction: "Deduction", line_bonus: "Bonus",
  line_not_deducted: "Not deducted", no_lines: "No deductions or bonuses in this period.", amendments: "Amendments",
  sheet_sha: "Sheet hash", rank_of: "Rank {rank} of {of}", cancel: "Cancel", ok: "OK",
  basis_roster_a: "roster A post", basis_roster_b: "roster B post", basis_substitute: "roster substitute",
  basis_edge: "seen by the edge", basis_reassigned: "reassigned", basis_window: "window", basis_none: "unknown",
  basis_entered: "entered by", subject: "Subject", changes: "Changes", nth_in_month: "{n} of {m} this month",
  monthly_doubling: "{n}+ times in a month: doubled", note_duration_unknown: "duration unknown",
  note_below_tier: "below the shortest tier", note_capped: "capped", clip_link: "clip",
};
// rule names: Chinese from the contract (server sends them), English here
const ruleEn = {
  window_unstaffed: "Window unstaffed", late_arrival: "Late arrival", early_leave: "Early leave",
  phone_use: "Phone use", smoking: "Smoking", sleeping: "Sleeping", chatting: "Chatting", eating: "Eating",
  after_hours_presence: "Presence after hours", exit_blocked: "Exit blocked",
  exit_locked_during_hours: "Exit locked during hours", door_open_after_hours: "Door open after hours",
  power_left_on: "Power left on", high_power_appliance: "High-power appliance", smoke_detected: "Smoke detected",
  sensor_offline: "Sensor offline", camera_offline: "Camera offline", camera_frozen: "Camera frozen",
  camera_covered: "Camera covered/dark",
};
const itemEn = {
  power_off: "Power off or in standby", exit_clear: "Exit clear", exit_unlocked: "Exit unlocked",
  door_closed: "Door closed", nobody_present: "Nobody present", smoke_normal: "Smoke sensor normal",
  camera_online: "Camera online", sensor_online: "Sensor online",
};
const itemZh = {
  power_off: "电源已关闭或待机", exit_clear: "安全出口畅通", exit_unlocked: "安全出口未上锁", door_closed: "门已关闭",
  nobody_present: "大厅无人", smoke_normal: "烟感正常", camera_online: "摄像头在线", sensor_online: "传感器在线",
};

const dicts = { zh, en };
// Pages of other packages register their strings once, in both languages (e.g. people_i18n.js).
export function addStrings(zhMore, enMore) { Object.assign(zh, zhMore); Object.assign(en, enMore); }
let lang = localStorage.getItem("hw.lang") || "zh";

export function getLang() { return lang; }
export function setLang(l) { lang = l; localStorage.setItem("hw.lang", l); document.documentElement.lang = l === "zh" ? "zh-CN" : "en"; }
export function t(key, vars = {}) {
  let s = dicts[lang][key] ?? dicts.zh[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, v);
  return s;
}
export function ruleName(rule, zhName) {
  return lang === "zh" ? (zhName || rule) : (ruleEn[rule] || rule);
}
export function itemName(item) { return (lang === "zh" ? itemZh : itemEn)[item] || item; }
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}
