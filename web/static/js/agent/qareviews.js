// What a ticket shows of its calls' QA reviews: the score (the mean of the done reviews)
// next to the rating, and each review the viewer may read. Agents see only the done reviews
// of their own calls; admins also get a link to the review on the QA page.

import "../qa/strings.js";
import { h } from "../dom.js";
import { dateTime } from "../format.js";
import { formatScore } from "../qa/badges.js";

/** The score pill for the ticket's header, or null when no review is done. */
export function qaScoreBadge(ticket) {
  if (ticket.qa_score === null || ticket.qa_score === undefined) return null;
  return h("span", { class: "qa-score-pill", i18n: "qa.ticketScore",
    i18nArgs: { score: formatScore(ticket.qa_score) } });
}

/** The panel listing the ticket's reviews, or null when there are none to show. */
export function qaReviewsPanel(ticket, { linkToQa = false } = {}) {
  const reviews = ticket.qa_reviews || [];
  if (reviews.length === 0) return null;
  return h("section", { class: "panel", "aria-labelledby": "ticket-qa-title" },
    h("h3", { id: "ticket-qa-title", i18n: "qa.ticketReviews" }),
    h("ul", { class: "history__list qa-ticket-reviews" }, reviews.map((review) => h("li", {
      dataset: { reviewId: review.id, callId: review.call_id } },
    h("span", { class: ["qa-state", `qa-state--${review.state}`], i18n: `qa.state.${review.state}` }),
    review.score === null ? null
      : h("strong", { i18n: "qa.scoreOf", i18nArgs: { score: formatScore(review.score) } }),
    h("span", { class: "muted", i18n: "qa.ticketReviewLine", i18nArgs: {
      call: review.call_id, rubric: review.rubric_name,
      who: review.done_by_name || "—", when: review.done_at ? dateTime(review.done_at) : "—",
    } }),
    linkToQa ? h("a", { class: "link", href: `/qa#call/${review.call_id}/${review.ticket_id}`,
      i18n: "qa.openOnQa" }) : null))));
}
