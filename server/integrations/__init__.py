"""The systems a hall already runs: its queue/evaluation system (叫号, 好差评) and attendance system push to
HallWatch with a per-hall token (``tokens``, ``queue``); Home Assistant or any MQTT dashboard sees HallWatch
through MQTT discovery (``homeassistant``)."""
