// The agent console page: sign-in, then the console (top bar with views, presence, language
// and sign-out; the Chats and Tickets views, and for admins Rubrics, Dashboard, Live calls and
// Settings). Views follow the URL hash: #chats, #tickets, #tickets/<id>, #rubrics, #dashboard,
// #supervise, #settings.

import { Announcer } from "../announce.js";
import { setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { guardFocus } from "../focus.js";
import { t, watchRoot } from "../i18n.js";
import { startStaffPage } from "../signin.js";
import { ChatsView } from "./chatsview.js";
import { AgentLive } from "./live.js";
import { StaffSession } from "./session.js";
import { RubricsView } from "./rubrics.js";
import { SettingsView } from "./settings.js";
import { DashboardView } from "./dashboard.js";
import { SuperviseView } from "./supervise.js";
import { TicketsView } from "./tickets.js";
import { ensureToasts, toast } from "./toast.js";

const $ = (id) => document.getElementById(id);
const CONSOLE_ROLES = new Set(["agent", "admin", "supervisor"]);

const WANTED_KEY = "liveassist.presence.wanted";

const session = new StaffSession();
let live = null;
let chats = null;
let tickets = null;
let announcer = null;
let rubrics = null;
let settings = null;
let dashboard = null;
let supervise = null;
let supervisor = false;

function boot() {
  watchRoot(document);
  guardFocus(document.body);
  announcer = new Announcer(document.body);
  ensureToasts();
  $("presence-select").addEventListener("change", changePresence);
  $("presence-again").addEventListener("click", () => restorePresence());
  $("presence-stay").addEventListener("click", () => {
    rememberWanted("offline");
    showPresence(live && live.me);
    $("presence-select").focus();
  });
  window.addEventListener("hashchange", route);
  startStaffPage({
    session, roles: CONSOLE_ROLES, open: openConsole, showSignIn, wrongRole: "notAgent",
  });
}

// ---- signing in and out ------------------------------------------------------------------

/** The sign-in page, saying why when the console was left without signing out. */
function showSignIn(reason = null) {
  closeConsole();
  $("console").hidden = true;
  $("signin").hidden = false;
  const error = $("signin-error");
  error.hidden = !reason;
  if (reason) error.textContent = t(`signin.${reason}`);
  $("signin-email").focus();
}

function openConsole(user) {
  $("signin").hidden = true;
  $("console").hidden = false;
  $("me-name").textContent = user.name;
  live = new AgentLive(session);
  chats = new ChatsView({
    live,
    announcer,
    onOpenTicket: (id) => {
      location.hash = `#tickets/${id}`;
    },
    onCount: (unread) => {
      $("chat-count").hidden = unread === 0;
      $("chat-count-n").textContent = unread > 99 ? "99+" : String(unread);
      setText($("chat-count-label"), "console.unreadCount", { n: unread });
    },
  });
  tickets = new TicketsView({ api: session.api, linkToQa: user.role === "admin" });
  $("view-chats").replaceChildren(chats.el);
  $("view-tickets").replaceChildren(tickets.el);
  const admin = user.role === "admin";
  rubrics = admin ? new RubricsView({ api: session.api }) : null;
  $("view-rubrics").replaceChildren(...(rubrics ? [rubrics.el] : []));
  $("tab-rubrics").hidden = !admin;
  // A supervisor watches a team: the figures and its live calls; no chats or tickets of their own.
  supervisor = user.role === "supervisor";
  const oversees = admin || supervisor;
  $("tab-chats").hidden = supervisor;
  $("tab-tickets").hidden = supervisor;
  dashboard = oversees ? new DashboardView({ api: session.api }) : null;
  $("view-dashboard").replaceChildren(...(dashboard ? [dashboard.el] : []));
  $("tab-dashboard").hidden = !oversees;
  supervise = oversees ? new SuperviseView({ live, announce: (key) => announcer.say(key) }) : null;
  $("view-supervise").replaceChildren(...(supervise ? [supervise.el] : []));
  $("tab-supervise").hidden = !oversees;
  settings = admin ? new SettingsView({ api: session.api }) : null;
  $("view-settings").replaceChildren(...(settings ? [settings.el] : []));
  $("tab-settings").hidden = !admin;
  $("tab-qa").hidden = !admin;
  $("presence").hidden = user.role !== "agent";
  $("presence-select").disabled = true;
  $("presence-select").value = "offline";
  live.on("me", showPresence);
  live.on("ticket", (ticket) => tickets && tickets.ticketChanged(ticket));
  live.on("connection", (state) => {
    $("connection").hidden = state === "online";
    if (state !== "online") {
      setText($("connection"), state === "restarting" ? "console.restarting" : "console.reconnecting");
    }
  });
  live.start();
  route();
}

function closeConsole() {
  try {
    sessionStorage.removeItem(WANTED_KEY); // a new sign-in starts from what the server says
  } catch {
    // nothing stored
  }
  if (live) live.stop();
  live = null;
  chats = null;
  tickets = null;
  rubrics = null;
  settings = null;
  if (dashboard) dashboard.stop();
  dashboard = null;
  if (supervise) supervise.destroy();
  supervise = null;
  $("view-supervise").replaceChildren();
  $("view-dashboard").replaceChildren();
  $("view-chats").replaceChildren();
  $("view-tickets").replaceChildren();
  $("view-rubrics").replaceChildren();
  $("view-settings").replaceChildren();
}

// ---- presence ----------------------------------------------------------------------------

function showPresence(me) {
  if (!me) return;
  $("presence-select").disabled = false;
  $("presence-select").value = me.status;
  $("presence-dot").className = `presence-dot presence-dot--${me.status}`;
  const wanted = wantedStatus();
  if (wanted === null) rememberWanted(me.status);
  // Back after an outage that outlasted the grace period: offline now, which the agent did
  // not choose. Say so plainly — no chat reaches them — and ask.
  const lost = me.status === "offline" && wanted !== null && wanted !== "offline";
  $("presence-prompt").hidden = !lost;
  if (lost) {
    setText($("presence-prompt-text"), "presence.lost", { status: { key: `presence.${wanted}` } });
    setText($("presence-again"), "presence.again", { status: { key: `presence.${wanted}` } });
  }
}

async function changePresence(event) {
  const wanted = event.currentTarget.value;
  try {
    await live.setPresence(wanted);
    rememberWanted(wanted);
  } catch (error) {
    toast(null, null, { tone: "error", text: errorMessage(error) });
    showPresence(live.me);
  }
}

async function restorePresence() {
  try {
    await live.setPresence(wantedStatus());
    $("presence-select").focus();
  } catch (error) {
    toast(null, null, { tone: "error", text: errorMessage(error) });
  }
}

/** The status this agent chose last in this tab (kept across reloads, not sign-ins). */
function wantedStatus() {
  try {
    return sessionStorage.getItem(WANTED_KEY);
  } catch {
    return null;
  }
}

function rememberWanted(status) {
  try {
    sessionStorage.setItem(WANTED_KEY, status);
  } catch {
    // not remembered: no prompt after an outage
  }
}

// ---- views -------------------------------------------------------------------------------

function route() {
  if (!live) return;
  const [asked, id] = location.hash.replace(/^#/, "").split("/");
  const view = supervisor && !["dashboard", "supervise"].includes(asked) ? "supervise" : asked;
  const showTickets = view === "tickets";
  const showRubrics = view === "rubrics" && rubrics !== null;
  const showSettings = view === "settings" && settings !== null;
  const showDashboard = view === "dashboard" && dashboard !== null;
  const showSupervise = view === "supervise" && supervise !== null;
  const showChats = !showTickets && !showRubrics && !showSettings && !showDashboard
    && !showSupervise;
  $("view-chats").hidden = !showChats;
  $("view-tickets").hidden = !showTickets;
  $("view-rubrics").hidden = !showRubrics;
  $("view-settings").hidden = !showSettings;
  $("view-dashboard").hidden = !showDashboard;
  $("view-supervise").hidden = !showSupervise;
  chats.el.hidden = !showChats;
  current($("tab-chats"), showChats);
  current($("tab-tickets"), showTickets);
  current($("tab-rubrics"), showRubrics);
  current($("tab-settings"), showSettings);
  current($("tab-dashboard"), showDashboard);
  current($("tab-supervise"), showSupervise);
  if (dashboard && !showDashboard) dashboard.stop();
  if (supervise && !showSupervise) supervise.stop();
  if (showDashboard) {
    dashboard.load();
  } else if (showSupervise) {
    supervise.load();
  } else if (showSettings) {
    settings.load();
  } else if (showRubrics) {
    rubrics.load();
  } else if (showTickets) {
    tickets.load();
    if (id && Number(id) !== tickets.openId) tickets.open(Number(id));
  } else {
    chats.shown();
  }
}

function current(tab, on) {
  if (on) tab.setAttribute("aria-current", "page");
  else tab.removeAttribute("aria-current");
}

boot();
