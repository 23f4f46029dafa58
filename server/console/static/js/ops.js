// The hall operations pages for the console shell: navigation entries (label key, capability) and routes.
import "./ops_i18n.js";
import { renderLive } from "./live.js";
import { renderMap } from "./hallmap.js";
import { renderStats } from "./stats.js";
import { renderReport } from "./report.js";
import { renderRoster } from "./roster.js";
import { renderUsers } from "./users.js";

export const OPS_NAV = [
  ["#/live", "nav_live", "view"],
  ["#/map", "nav_map", "view"],
  ["#/stats", "nav_stats", "view"],
  ["#/roster", "nav_roster", "view"],
  ["#/users", "nav_users", "configure"],
];

export const OPS_ROUTES = [
  [/^#\/live$/, renderLive],
  [/^#\/map$/, renderMap],
  [/^#\/stats$/, renderStats],
  [/^#\/roster$/, renderRoster],
  [/^#\/users$/, renderUsers],
  [/^#\/report(?:\?(.*))?$/, renderReport],
];
