"""IoT sensors over MQTT: firmware adapters, normalised readings, sensor rules, the hub, simulator and tail.

See edge.sensors.hub.SensorHub for the agent-facing API and edge.sensors.cli for the installer tools.
"""

from edge.sensors.readings import Reading, Rejected

__all__ = ["Reading", "Rejected", "SensorHub"]


def __getattr__(name: str):  # lazy: importing readings must not pull in paho/matplotlib
    if name == "SensorHub":
        from edge.sensors.hub import SensorHub

        return SensorHub
    raise AttributeError(name)
