"""Every firmware adapter with example payloads as the firmware documents them, and every rejection reason."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.sensors import adapters
from tests.test_sensors_support import MONDAY, Feeder, at, make_cfg

CFG = make_cfg()
RECEIVED = at(MONDAY, "10:00:00")
UTC = dt.UTC


def parse(sid: str, topic: str, payload: bytes):
    s = next(x for x in CFG.sensors if x.id == sid)
    parser = adapters.device_topics(s)[topic]
    return parser(payload, adapters.Ctx(s, RECEIVED, CFG.tz))


# (sensor, topic, payload, expected [(kind, value)], expected time or None = receipt time)
CASES = [
    # Zigbee2MQTT: TuYa TS011F plug (state/power/energy), Aqara contact, Aqara motion, Heiman smoke, Yale lock
    ("pc-w01", "zigbee2mqtt/w01_pc",
     (b'{"child_lock":"UNLOCK","current":0.05,"energy":1.11,"indicator_mode":"off/on","linkquality":255,'
      b'"power":11,"power_outage_memory":"restore","state":"ON","voltage":229}'),
     [("switch", "on"), ("power", 11.0), ("energy", 1.11)], None),
    ("pc-w01", "zigbee2mqtt/w01_pc", b'{"state":"OFF","power":0,"last_seen":"2026-11-23T18:05:00+08:00"}',
     [("switch", "off"), ("power", 0.0)], dt.datetime(2026, 11, 23, 10, 5, tzinfo=UTC)),
    ("pc-w01", "zigbee2mqtt/w01_pc", b'{"power":95.2,"last_seen":1795399200000}',  # last_seen: epoch (ms)
     [("power", 95.2)], dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    ("door", "zigbee2mqtt/main_door", b'{"battery":100,"contact":true,"linkquality":63,"voltage":3055}',
     [("contact", "closed")], None),
    ("door", "zigbee2mqtt/main_door", b'{"battery":100,"contact":false,"linkquality":60,"voltage":3055}',
     [("contact", "open")], None),
    ("exit-occ", "zigbee2mqtt/exit_occ",
     b'{"battery":100,"illuminance":381,"illuminance_lux":381,"linkquality":147,"occupancy":true,"voltage":3045}',
     [("occupancy", True)], None),
    ("smoke", "zigbee2mqtt/hall_smoke", b'{"smoke":false,"battery_low":false,"tamper":false,"battery":100}',
     [("smoke", False)], None),
    ("exit-lock", "zigbee2mqtt/exit_lock", b'{"state":"LOCK","lock_state":"locked","battery":80,"linkquality":40}',
     [("lock", "locked")], None),
    ("exit-lock", "zigbee2mqtt/exit_lock", b'{"state":"UNLOCK"}', [("lock", "unlocked")], None),
    ("exit-lock", "zigbee2mqtt/exit_lock", b'{"lock_state":"not_fully_locked"}', [("lock", "jammed")], None),
    ("pc-w01", "zigbee2mqtt/w01_pc/availability", b"online", [("availability", "online")], None),
    ("pc-w01", "zigbee2mqtt/w01_pc/availability", b"offline", [("availability", "offline")], None),
    ("pc-w01", "zigbee2mqtt/w01_pc/availability", b'{"state":"online"}', [("availability", "online")], None),
    ("pc-w01", "zigbee2mqtt/w01_pc/availability", b'{"state":"offline"}', [("availability", "offline")], None),
    # Tasmota (Sonoff POW): tele SENSOR with local Time, STATE with POWER, LWT
    ("printer-w02", "tele/w02_printer/SENSOR",
     (b'{"Time":"2026-11-23T18:59:50","ENERGY":{"Total":1.956,"Yesterday":0.054,"Today":0.049,"Period":0,'
      b'"Power":9,"Factor":0.43,"Voltage":231,"Current":0.089}}'),
     [("power", 9.0), ("energy", 1.956)], dt.datetime(2026, 11, 23, 10, 59, 50, tzinfo=UTC)),
    ("printer-w02", "tele/w02_printer/SENSOR", b'{"Time":"2026-11-23T10:00:00","ENERGY":{"Power":[12,30]}}',
     [("power", 42.0)], dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    ("printer-w02", "tele/w02_printer/STATE",
     (b'{"Time":"2026-11-23T10:00:00","Uptime":"0T00:10:00","UptimeSec":600,"Heap":26,"SleepMode":"Dynamic",'
      b'"Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"OFF","Wifi":{"AP":1,"SSId":"x","RSSI":100}}'),
     [("switch", "off")], dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    ("printer-w02", "tele/w02_printer/LWT", b"Online", [("availability", "online")], None),
    ("printer-w02", "tele/w02_printer/LWT", b"Offline", [("availability", "offline")], None),
    # Shelly Gen2/Gen3: NotifyStatus on events/rpc, status/switch:0, online
    ("office-plug", "shellyplugsg3-office/events/rpc",
     (b'{"src":"shellyplugsg3-office","dst":"shellyplugsg3-office/events","method":"NotifyStatus",'
      b'"params":{"ts":1795399200.43,"switch:0":{"id":0,"apower":1850.3,"current":8.05}}}'),
     [("power", 1850.3)], dt.datetime(2026, 11, 23, 2, 0, 0, 430000, tzinfo=UTC)),
    ("office-plug", "shellyplugsg3-office/events/rpc",
     (b'{"src":"shellyplugsg3-office","dst":"user_1","method":"NotifyStatus",'
      b'"params":{"ts":1795399200.0,"switch:0":{"id":0,"output":true,"source":"button"}}}'),
     [("switch", "on")], dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    ("office-plug", "shellyplugsg3-office/events/rpc",  # a wifi change: valid, nothing to read
     b'{"src":"shellyplugsg3-office","method":"NotifyStatus","params":{"ts":1795399200.0,"wifi":{"rssi":-58}}}',
     [], None),
    ("office-plug", "shellyplugsg3-office/events/rpc",  # a button event: valid, nothing to read
     (b'{"src":"shellyplugsg3-office","method":"NotifyEvent","params":{"ts":1795399200.0,'
      b'"events":[{"component":"input:0","id":0,"event":"single_push","ts":1795399200.0}]}}'), [], None),
    ("office-plug", "shellyplugsg3-office/status/switch:0",
     (b'{"id":0,"source":"init","output":false,"apower":0.0,"voltage":236.9,"current":0.000,'
      b'"aenergy":{"total":1234.5,"by_minute":[0.000,0.000,0.000],"minute_ts":1654511972},'
      b'"temperature":{"tC":45.6,"tF":114.0}}'),
     [("switch", "off"), ("power", 0.0), ("energy", 1.2345)], None),
    ("office-plug", "shellyplugsg3-office/online", b"true", [("availability", "online")], None),
    ("office-plug", "shellyplugsg3-office/online", b"false", [("availability", "offline")], None),
    # ESPHome: plain-text states and the node status
    ("meter-w03", "hall-esp/sensor/w03_power/state", b"123.4", [("power", 123.4)], None),
    ("exit-occ-esp", "hall-esp/binary_sensor/exit_west/state", b"ON", [("occupancy", True)], None),
    ("exit-occ-esp", "hall-esp/binary_sensor/exit_west/state", b"OFF", [("occupancy", False)], None),
    ("exit-occ-esp", "hall-esp/status", b"offline", [("availability", "offline")], None),
    # generic JSON at configured paths
    ("meter-w04", "meters/w04", b'{"data":{"power_w":120.5,"ts":1795399200},"fw":"1.2"}', [("power", 120.5)],
     dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
    ("meter-w04", "meters/w04", b'{"data":{"power_w":80,"ts":"2026-11-23T10:00:00+08:00"}}', [("power", 80.0)],
     dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize("sid,topic,payload,expected,when", CASES, ids=[f"{c[1]}#{i}" for i, c in enumerate(CASES)])
def test_adapter_normalises_firmware_payload(sid, topic, payload, expected, when):
    readings = parse(sid, topic, payload)
    assert [(r.kind, r.value) for r in readings] == expected
    assert all(r.device == sid for r in readings)
    assert all(r.unit == ("W" if r.kind == "power" else "kWh" if r.kind == "energy" else None) for r in readings)
    for r in readings:
        assert r.at == (when or RECEIVED)
        assert r.source_time == (when is not None)


REJECTS = [
    ("zigbee2mqtt/w01_pc", b"hello", "not_json"),
    ("zigbee2mqtt/w01_pc", b"[1, 2]", "not_object"),
    ("zigbee2mqtt/w01_pc", b'{"power":"85W"}', "wrong_type"),
    ("zigbee2mqtt/w01_pc", b'{"power":true}', "wrong_type"),
    ("zigbee2mqtt/w01_pc", b'{"power":-5}', "bad_value"),
    ("zigbee2mqtt/w01_pc", b'{"power":NaN}', "bad_value"),
    ("zigbee2mqtt/w01_pc", b'{"state":"MAYBE"}', "bad_value"),
    ("zigbee2mqtt/w01_pc", b'{"linkquality":100}', "missing_field"),
    ("zigbee2mqtt/w01_pc", b'{"power":5,"last_seen":"yesterday"}', "bad_timestamp"),
    ("zigbee2mqtt/main_door", b'{"contact":"yes"}', "wrong_type"),
    ("zigbee2mqtt/exit_lock", b'{"lock_state":"banana"}', "bad_value"),
    ("zigbee2mqtt/w01_pc/availability", b"maybe", "bad_value"),
    ("zigbee2mqtt/w01_pc/availability", b'{"status":"online"}', "missing_field"),
    ("tele/w02_printer/SENSOR", b'{"Time":"2026-11-23T10:00:00"}', "missing_field"),
    ("tele/w02_printer/SENSOR", b'{"ENERGY":12}', "wrong_type"),
    ("tele/w02_printer/STATE", b'{"Time":"2026-11-23T10:00:00","Heap":26}', "missing_field"),
    ("shellyplugsg3-office/events/rpc", b'{"method":"NotifyStatus","params":{"switch:0":{"apower":"x"}}}',
     "wrong_type"),
    ("hall-esp/sensor/w03_power/state", b"nan-ish", "wrong_type"),
    ("hall-esp/binary_sensor/exit_west/state", b"MAYBE", "bad_value"),
    ("meters/w04", b'{"data":{"ts":1795399200}}', "missing_field"),
    ("zigbee2mqtt/w01_pc", b"\xff\xfe\x00junk", "not_text"),
    ("zigbee2mqtt/w01_pc", b'{"power":' + b"1" * (1024 * 1024) + b"}", "oversized"),
    ("zigbee2mqtt/unknown_plug", b'{"power":5}', "unknown_device"),
    ("tele/someone_elses_plug/SENSOR", b'{"ENERGY":{"Power":5}}', "unknown_device"),
]


@pytest.mark.parametrize("topic,payload,reason", REJECTS, ids=[f"{r[2]}#{i}" for i, r in enumerate(REJECTS)])
def test_malformed_message_is_counted_and_next_valid_one_processed(topic, payload, reason, caplog):
    f = Feeder(start=RECEIVED)
    assert f.hub.handle_message(topic, payload, retained=True) == []
    assert f.hub.counters[f"rejected:{reason}"] == 1
    assert f.hub.counters["rejected"] == 1
    assert reason in caplog.text  # logged with its reason
    good = f.hub.handle_message("zigbee2mqtt/w01_pc", b'{"state":"ON","power":42.0}')
    assert [(r.kind, r.value) for r in good] == [("switch", "on"), ("power", 42.0)]
    assert f.hub.counters["rejected"] == 1


def test_firmware_clock_far_off_is_replaced_by_receipt_time():
    f = Feeder(start=RECEIVED)
    r = f.hub.handle_message("tele/w02_printer/SENSOR", b'{"Time":"1970-01-01T08:00:12","ENERGY":{"Power":9}}')
    assert [(x.kind, x.at, x.source_time) for x in r] == [("power", RECEIVED, False)]
    assert f.hub.counters["clock_skew"] == 1


def test_simulator_payloads_parse_back_to_the_simulated_values():
    from edge.sensors.simformats import state_messages

    values = {"plug": 96.0, "power_meter": 110.0, "contact": "open", "occupancy": True, "smoke": True,
              "lock": "locked"}
    for s in CFG.sensors:
        kind = {"plug": "power", "power_meter": "power"}.get(s.kind, s.kind)
        got = []
        for topic, payload, _ in state_messages(s, values[s.kind], RECEIVED, CFG.tz, energy_kwh=12.5):
            got += parse(s.id, topic, payload)
        main = [r.value for r in got if r.kind == kind]
        assert main == [pytest.approx(values[s.kind])], (s.id, got)
