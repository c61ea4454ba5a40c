// Hand a chat over: to a colleague who is online and has room, or back into a group's line,
// with an internal note the next agent will see in the transcript.

import { h } from "../dom.js";
import { LiveAssistError } from "../errors.js";
import { t } from "../i18n.js";
import { presenceDot } from "./badges.js";
import { openDialog } from "./dialog.js";

export async function openTransfer({ live, chat, me }) {
  const directory = await live.api.get("/api/directory");
  const myId = me ? me.user_id : null;
  const agents = directory.agents.filter((agent) => agent.id !== myId && agent.active);
  const agentOptions = agents.map((agent) => {
    const free = agent.status !== "offline" && agent.load < agent.max_chats;
    return option(`user:${agent.id}`, !free,
      h("span", { class: "option__name", text: agent.name }),
      presenceDot(agent.status),
      h("span", { class: "option__meta", i18n: `presence.${agent.status}` }),
      h("span", { class: "option__meta", i18n: "transfer.load",
        i18nArgs: { load: agent.load, max: agent.max_chats } }));
  });
  const groupOptions = directory.groups.map((group) => option(`group:${group.id}`, false,
    h("span", { class: "option__name", text: group.name }),
    h("span", { class: "option__meta", i18n: "transfer.toQueue" })));
  const note = h("textarea", { id: "transfer-note", name: "note", rows: 3, maxLength: 500,
    i18nAttrs: { placeholder: "transfer.notePlaceholder" } });

  openDialog({
    titleKey: "transfer.title",
    titleArgs: { name: chat.customerName },
    confirmKey: "transfer.confirm",
    body: [
      h("fieldset", { class: "options" },
        h("legend", { i18n: "transfer.agents" }),
        agentOptions.length ? agentOptions : h("p", { class: "muted", i18n: "transfer.noAgents" })),
      h("fieldset", { class: "options" },
        h("legend", { i18n: "transfer.groups" }), groupOptions),
      h("div", { class: "field" },
        h("label", { for: "transfer-note", i18n: "transfer.note" }), note),
    ],
    onConfirm: async (form) => {
      const target = new FormData(form).get("target");
      if (!target) throw new LiveAssistError("choose", t("transfer.pick"));
      const [kind, id] = String(target).split(":");
      await live.transfer(chat, {
        toUserId: kind === "user" ? Number(id) : null,
        toGroupId: kind === "group" ? Number(id) : null,
        note: note.value.trim(),
      });
    },
  });
}

function option(value, disabled, ...content) {
  const id = `target-${value.replace(":", "-")}`;
  return h("div", { class: ["option", disabled && "option--disabled"] },
    h("input", { type: "radio", name: "target", id, value, disabled }),
    h("label", { for: id }, content));
}
