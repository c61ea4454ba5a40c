// The left column: chats waiting in line (that this agent could serve) and the team's
// presence and load. Waiting times tick every few seconds.

import { h, replace, setText } from "../dom.js";
import { duration, secondsSince } from "../format.js";
import { presenceDot, priorityBadge } from "./badges.js";

const TICK_MS = 5000;

export class QueuePanel {
  constructor() {
    this.snapshot = { queue: [], agents: [] };
    this.count = h("span", { class: "count", "aria-hidden": "true" });
    this.queueList = h("ol", { class: "queue", "aria-labelledby": "queue-title" });
    this.teamList = h("ul", { class: "team", "aria-labelledby": "team-title" });
    this.el = h("aside", { class: "sidebar" },
      h("section", { class: "sidebar__section" },
        h("h2", { class: "sidebar__title" },
          h("span", { id: "queue-title", i18n: "line.title" }), this.count),
        this.queueList),
      h("section", { class: "sidebar__section" },
        h("h2", { class: "sidebar__title", id: "team-title", i18n: "team.title" }),
        this.teamList));
    this.timer = setInterval(() => this.renderQueue(), TICK_MS);
    this.render();
  }

  update(snapshot) {
    this.snapshot = snapshot;
    this.render();
  }

  render() {
    this.renderQueue();
    replace(this.teamList, this.snapshot.agents.map((agent) => h("li", { class: "team__member" },
      presenceDot(agent.status),
      h("span", { class: "team__name", text: agent.name }),
      h("span", { class: "visually-hidden", i18n: `presence.${agent.status}` }),
      h("span", { class: "team__load", i18n: "team.load",
        i18nArgs: { load: agent.load, max: agent.max_chats } }))));
    if (this.snapshot.agents.length === 0) {
      this.teamList.append(h("li", { class: "muted", i18n: "team.empty" }));
    }
  }

  renderQueue() {
    const { queue } = this.snapshot;
    this.count.textContent = String(queue.length);
    this.count.hidden = queue.length === 0;
    replace(this.queueList, queue.map((entry) => h("li", { class: "queue__entry" },
      h("div", { class: "queue__line" },
        h("span", { class: "queue__name", text: entry.customer_name }),
        entry.vip ? h("span", { class: "badge", i18n: "console.vip" }) : null,
        h("span", { class: "queue__wait", text: duration(secondsSince(entry.queued_at)) })),
      h("div", { class: "queue__meta" },
        h("span", { i18n: `topic.${entry.topic}`, i18nArgs: { _: entry.topic } }),
        h("span", { format: ["language", entry.language] }),
        entry.priority !== "normal" ? priorityBadge(entry.priority) : null))));
    if (queue.length === 0) {
      const empty = h("li", { class: "muted" });
      setText(empty, "line.empty");
      this.queueList.append(empty);
    }
  }
}
