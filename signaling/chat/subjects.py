"""The subject of the ticket a new chat opens, in the chat's language: it is the line agents
read in the Tickets list, so a Chinese chat gets a Chinese subject (the topic names match the
pages' own, web/static/js/i18n.js)."""

from __future__ import annotations

OPEN, CLOSE = "\uff08", "\uff09"  # Chinese text brackets its asides in full-width parentheses
TOPICS_ZH = {"general": "一般问题", "billing": "账单与付款", "technical": "技术问题"}


def is_chinese(language: str) -> bool:
    return language.split("-")[0].lower() == "zh"


def ticket_subject(
    language: str, topic: str, *, name: str | None, email: str | None, customer_id: int
) -> str:
    """ "Chat with Carla (billing)", or in Chinese "与 Carla 的对话" and the topic's name in
    full-width brackets; an unknown topic keeps its code."""
    if is_chinese(language):
        who = name or email or f"客户 #{customer_id}"
        return f"与 {who} 的对话{OPEN}{TOPICS_ZH.get(topic, topic)}{CLOSE}"
    who = name or email or f"customer #{customer_id}"
    return f"Chat with {who} ({topic})"
