// The QA review page, for QA reviewers and admins: sign-in, then the recorded calls (filters,
// paging) and one call's review (the synced player, the evidence timeline, the scoring panel).
// Views follow the URL hash: #calls?<filters>, #review/<recording id>, #call/<call id>/<ticket id>.

import "./strings.js";
import { t, watchRoot } from "../i18n.js";
import { startStaffPage } from "../signin.js";
import { StaffSession } from "../agent/session.js";
import { RecordingsView } from "./list.js";
import { ReviewView } from "./review.js";

const $ = (id) => document.getElementById(id);
const QA_ROLES = new Set(["qa", "admin"]);

const session = new StaffSession();
let list = null;
let review = null;
let lastListHash = "#calls";

function boot() {
  watchRoot(document);
  window.addEventListener("hashchange", route);
  startStaffPage({
    session, roles: QA_ROLES, open: openPage, showSignIn, wrongRole: "notReviewer",
  });
}

function showSignIn(reason = null) {
  closePage();
  $("qa").hidden = true;
  $("signin").hidden = false;
  const error = $("signin-error");
  error.hidden = !reason;
  if (reason) error.textContent = t(reason === "notReviewer" ? "qa.notReviewer" : `signin.${reason}`);
  $("signin-email").focus();
}

function openPage(user) {
  $("signin").hidden = true;
  $("qa").hidden = false;
  $("me-name").textContent = user.name;
  $("tab-console").hidden = user.role !== "admin";
  list = new RecordingsView({ api: session.api, onOpen: (id) => {
    location.hash = `#review/${id}`;
  } });
  $("view-list").replaceChildren(list.el);
  route();
}

function closePage() {
  if (review) review.destroy();
  review = null;
  list = null;
  $("view-list").replaceChildren();
  $("view-review").replaceChildren();
}

function route() {
  if (!list) return;
  const hash = location.hash || "#calls";
  const [path, query = ""] = hash.replace(/^#/, "").split("?");
  const [view, id, extra] = path.split("/");
  const reviewing = (view === "review" || view === "call") && Number(id) > 0;
  $("view-list").hidden = reviewing;
  $("view-review").hidden = !reviewing;
  current($("tab-calls"), !reviewing);
  if (review && (!reviewing || review.key !== path)) {
    review.destroy();
    review = null;
    $("view-review").replaceChildren();
  }
  if (!reviewing) {
    lastListHash = hash.startsWith("#calls") ? hash : "#calls";
    list.show(new URLSearchParams(query));
    return;
  }
  if (review) return;
  review = new ReviewView({
    api: session.api,
    user: session.user,
    key: path,
    backHash: lastListHash,
  });
  $("view-review").replaceChildren(review.el);
  if (view === "review") review.open(Number(id));
  else review.openCall(Number(id), Number(extra) || null);
}

function current(tab, on) {
  if (on) tab.setAttribute("aria-current", "page");
  else tab.removeAttribute("aria-current");
}

boot();
