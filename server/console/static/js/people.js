// The people pages for the console shell: navigation entries (label key, capability) and routes, and where a
// clerk's login lands (a clerk has only its own record).
import "./people_i18n.js";
import { renderLeave } from "./leave.js";
import { renderAppeals } from "./appeals.js";
import { renderService } from "./service.js";
import { renderMine } from "./my.js";

export const PEOPLE_NAV = [
  ["#/leave", "nav_leave", "view"],
  ["#/appeals", "nav_appeals", "assess"],
  ["#/service", "nav_service", "view"],
  ["#/my", "nav_my", "own_record"],
];

export const PEOPLE_ROUTES = [
  [/^#\/leave$/, renderLeave],
  [/^#\/appeals$/, renderAppeals],
  [/^#\/service$/, renderService],
  [/^#\/my$/, renderMine],
];

// the only page of a login that has no other capability (role staff)
export function homeFor(me) { return me.can.includes("own_record") ? "#/my" : null; }
