// System lines in a transcript come from the server as English sentences ("Alex joined the
// chat"). These are the ones it writes (signaling/routing/dispatcher.py, chat/service.py,
// calls/service.py, kb/bot.py);
// matching them turns them into dictionary keys so they follow the interface language.
// Anything unrecognised is shown exactly as sent.

const PATTERNS = [
  [/^(.+) joined the chat \(transferred by (.+)\)$/s, "event.joinedTransferred", ["name", "by"]],
  [/^(.+) joined the chat \((.+)\)$/s, "event.joinedNote", ["name", "note"]],
  [/^(.+) joined the chat$/s, "event.joined", ["name"]],
  [/^The customer ended the chat$/s, "event.customerEnded", []],
  [/^(.+) ended the chat$/s, "event.ended", ["name"]],
  [/^Escalated to ticket #(\d+) for follow-up$/s, "event.escalated", ["id"]],
  [/^The customer's question was answered by the help articles$/s, "event.botSolved", []],
  [/^The customer asked for a person$/s, "event.botHuman", []],
  [/^The customer wrote again; the chat is waiting for a person$/s, "event.botWroteAgain", []],
  [/^The assistant found no article for this question; the chat is waiting for a person$/s,
    "event.botNoAnswer", []],
  [/^The assistant was interrupted by a restart; the chat is waiting for a person$/s,
    "event.botRestarted", []],
  [/^(.+) is unavailable; finding another agent$/s, "event.unavailable", ["name"]],
  [/^(.+) transferred the chat to (.+)$/s, "event.transferredTo", ["name", "group"]],
  [/^Transfer note: (.*)$/s, "event.transferNote", ["note"]],
  [/^Escalation note: (.*)$/s, "event.escalationNote", ["note"]],
  [/^Missed (audio|video) call$/s, "event.callMissed", ["media"]],
  [/^(Audio|Video) call declined$/s, "event.callDeclined", ["media"]],
  [/^(Audio|Video) call cancelled$/s, "event.callCancelled", ["media"]],
  [/^(Audio|Video) call failed: (.+)$/s, "event.callFailed", ["media", "why"]],
  [/^(Audio|Video) call ended \((\d+:\d\d)\): (.+)$/s, "event.callEnded", ["media", "time", "why"]],
];

// The reasons calls/service.py writes after a call's summary (CALL_END_TEXT in types.py).
const END_TEXTS = {
  "Hung up": "hung_up",
  "Declined": "declined",
  "Missed (not answered)": "missed",
  "Cancelled by the caller": "cancelled",
  "Network lost": "network_lost",
  "Media relay lost": "relay_lost",
  "No media relay available": "relay_unavailable",
  "Back to chat (poor connection)": "poor_quality",
  "Chat ended": "chat_ended",
  "Server restarted": "server_shutdown",
  "Failed": "error",
};

/** {key, args} for a known system sentence (args._ keeps the original), else null. */
export function systemText(text) {
  for (const [pattern, key, names] of PATTERNS) {
    const match = pattern.exec(text);
    if (match) {
      const args = { _: text };
      names.forEach((name, i) => {
        args[name] = match[i + 1];
      });
      if (!("media" in args)) return { key, args };
      // Call summaries: one key per media, and the reason translated when it is a known one.
      const media = args.media.toLowerCase();
      delete args.media;
      if (args.why && END_TEXTS[args.why]) args.why = { key: `endText.${END_TEXTS[args.why]}` };
      return { key: `${key}.${media}`, args };
    }
  }
  return null;
}
