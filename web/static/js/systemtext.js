// System lines in a transcript come from the server as English sentences ("Alex joined the
// chat"). These are the ones it writes (signaling/routing/dispatcher.py, chat/service.py);
// matching them turns them into dictionary keys so they follow the interface language.
// Anything unrecognised is shown exactly as sent.

const PATTERNS = [
  [/^(.+) joined the chat \(transferred by (.+)\)$/s, "event.joinedTransferred", ["name", "by"]],
  [/^(.+) joined the chat \((.+)\)$/s, "event.joinedNote", ["name", "note"]],
  [/^(.+) joined the chat$/s, "event.joined", ["name"]],
  [/^The customer ended the chat$/s, "event.customerEnded", []],
  [/^(.+) ended the chat$/s, "event.ended", ["name"]],
  [/^Escalated to ticket #(\d+) for follow-up$/s, "event.escalated", ["id"]],
  [/^(.+) is unavailable; finding another agent$/s, "event.unavailable", ["name"]],
  [/^(.+) transferred the chat to (.+)$/s, "event.transferredTo", ["name", "group"]],
  [/^Transfer note: (.*)$/s, "event.transferNote", ["note"]],
  [/^Escalation note: (.*)$/s, "event.escalationNote", ["note"]],
];

/** {key, args} for a known system sentence (args._ keeps the original), else null. */
export function systemText(text) {
  for (const [pattern, key, names] of PATTERNS) {
    const match = pattern.exec(text);
    if (match) {
      const args = { _: text };
      names.forEach((name, i) => {
        args[name] = match[i + 1];
      });
      return { key, args };
    }
  }
  return null;
}
