"""English names of the contract's rules (the Chinese names are ``edge.contract.RULES``), for exports."""

RULE_EN: dict[str, str] = {
    "window_unstaffed": "Window unstaffed", "late_arrival": "Late arrival", "early_leave": "Early leave",
    "phone_use": "Phone use", "smoking": "Smoking", "sleeping": "Sleeping", "chatting": "Chatting",
    "eating": "Eating", "after_hours_presence": "Presence after hours", "exit_blocked": "Exit blocked",
    "exit_locked_during_hours": "Exit locked during hours", "door_open_after_hours": "Door open after hours",
    "power_left_on": "Power left on", "high_power_appliance": "High-power appliance",
    "smoke_detected": "Smoke detected", "sensor_offline": "Sensor offline", "camera_offline": "Camera offline",
    "camera_frozen": "Camera frozen", "camera_covered": "Camera covered/dark",
}
