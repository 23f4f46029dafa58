"""The ``hallwatch`` command. Each subcommand lives with the code it drives and is imported lazily,
so an edge-only install never imports the server's dependencies and vice versa."""

from __future__ import annotations

import importlib
import sys

# subcommand → (module, help). Each module has ``main(argv: list[str]) -> int``.
COMMANDS: dict[str, tuple[str, str]] = {
    "server": ("server.cli", "run the central server, manage users and edge tokens"),
    "edge": ("edge.agent.cli", "run the edge agent, or analyse a video/still with its pipeline"),
    "sensors": ("edge.sensors.cli", "simulate sensor payloads or tail normalised readings"),
    "models": ("models.cli", "list, export, train and evaluate models; datasets and tuning from feedback"),
    "config": ("edge.config_cli", "validate a site config, export JSON Schemas"),
    "demo": ("server.demo", "run broker, server, one edge and the sensor simulator on one machine"),
}


def usage() -> str:
    lines = ["usage: hallwatch <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'hallwatch <command> --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"hallwatch: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"hallwatch {name}: missing dependency ({exc}); install the matching extra, "
              f"e.g. pip install 'hallwatch[edge,server]'", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
