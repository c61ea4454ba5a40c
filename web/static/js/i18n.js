// Interface text in English and Simplified Chinese, in one dictionary.
//
// Elements carry their key (data-i18n, data-i18n-args, data-i18n-attrs — see dom.js h()), so a
// language switch re-translates every watched root (the page, the widget's shadow root) in
// place. The choice is remembered in localStorage; the default follows navigator.language.

const STORAGE_KEY = "liveassist.lang";

export const LANGUAGES = [
  { code: "en", label: "English" },
  { code: "zh-CN", label: "简体中文" },
];

const DICTIONARY = {
  en: {
    "common.cancel": "Cancel",
    "common.retry": "Try again",
    "common.save": "Save",
    "common.saved": "Saved",
    "common.close": "Close",
    "common.loading": "Loading…",
    "common.none": "None",
    "common.language": "Language",

    "error.network": "The server cannot be reached. Check your connection and try again.",
    "error.disconnected": "Not connected right now. It will be sent when the connection is back.",
    "error.timeout": "The server took too long to answer. Please try again.",
    "error.rateLimited": "That was a lot at once. Please wait a moment and try again.",
    "error.unsupportedFile": "Only screenshots, photos (PNG, JPEG, GIF, WebP) and short videos (MP4, WebM, MOV) can be attached.",
    "error.tooLarge": "That file is too large.",
    "error.unauthenticated": "Your session has expired. Please sign in again.",
    "error.forbidden": "You are not allowed to do that.",
    "error.internal": "Something went wrong on our side. Please try again.",

    "topic.general": "General question",
    "topic.billing": "Billing and payments",
    "topic.technical": "Technical problem",

    "msg.sending": "Sending…",
    "msg.sent": "Sent",
    "msg.read": "Read",
    "msg.failed": "Not sent.",
    "msg.retry": "Retry",
    "msg.internalNote": "Internal note",
    "event.joined": "{name} joined the chat",
    "event.joinedTransferred": "{name} joined the chat (transferred by {by})",
    "event.joinedNote": "{name} joined the chat ({note})",
    "event.customerEnded": "The customer ended the chat",
    "event.ended": "{name} ended the chat",
    "event.escalated": "Escalated to ticket #{id} for follow-up",
    "event.unavailable": "{name} is unavailable; finding another agent",
    "event.transferredTo": "{name} transferred the chat to {group}",
    "event.transferNote": "Transfer note: {note}",
    "event.escalationNote": "Escalation note: {note}",
    "attachment.loading": "Loading attachment…",
    "attachment.failed": "The attachment could not be loaded.",

    "composer.label": "Message",
    "composer.placeholder": "Write a message…",
    "composer.attach": "Attach a screenshot, photo or video",
    "composer.send": "Send",
    "composer.uploading": "Uploading {name}…",

    "launcher.open": "Chat with us",
    "launcher.close": "Hide chat",
    "launcher.unread": "Chat with us ({n} unread)",

    "widget.support": "Support",
    "widget.title": "{org} support",
    "widget.otherLanguage": "中文",
    "widget.switchLanguage": "切换到中文 (Switch to Chinese)",
    "widget.minimise": "Minimise chat",
    "widget.unavailable": "Chat is not available right now.",

    "header.online": "We usually reply within a few minutes",
    "header.offline": "We are away — leave a message and we'll reply",
    "header.new": "Tell us how we can help",
    "header.queued": "Waiting for an agent…",
    "header.active": "{name} is helping you",
    "header.ended": "Chat ended",
    "header.unavailable": "Unavailable",

    "prechat.intro": "Hi! Tell us a little about yourself and we'll connect you with someone who can help.",
    "prechat.online": "{n} agent(s) online now",
    "prechat.offline": "No agent is online right now, but you can still leave a message.",
    "prechat.name": "Your name",
    "prechat.email": "Email",
    "prechat.optional": " (optional)",
    "prechat.topic": "What is it about?",
    "prechat.language": "Chat language",
    "prechat.start": "Start chat",
    "prechat.nameMissing": "Please tell us your name.",
    "prechat.emailInvalid": "That email address does not look right.",
    "prechat.expired": "Your previous chat session has expired. Start a new chat below.",

    "chat.transcript": "Conversation",
    "chat.startHint": "Send a message to start — an agent will join shortly.",
    "chat.waiting": "Waiting for an agent…",
    "chat.agent": "Agent",
    "chat.typing": "{name} is typing…",
    "chat.reconnecting": "Connection lost. Reconnecting…",
    "chat.end": "End chat",
    "chat.endConfirm": "End this chat?",
    "chat.endYes": "End chat",
    "chat.ended": "This chat has ended.",
    "chat.endedShort": "This chat has ended.",
    "chat.newChat": "Start a new chat",
    "chat.newMessages": "New messages",
    "chat.restarting": "The server is restarting. Reconnecting…",
    "chat.reconnected": "Connected again.",

    "queue.position": "You are #{n} in line.",
    "queue.positionWait": "You are #{n} in line, about {min} min.",
    "queue.noAgents": "You are #{n} in line. No agent is available right now — we'll answer as soon as someone is back.",

    "csat.question": "How was your chat?",
    "csat.score1": "1 star: very poor",
    "csat.score2": "2 stars: poor",
    "csat.score3": "3 stars: okay",
    "csat.score4": "4 stars: good",
    "csat.score5": "5 stars: excellent",
    "csat.comment": "Anything to add?",
    "csat.commentPlaceholder": "Optional comment",
    "csat.submit": "Send rating",
    "csat.skip": "Skip",
    "csat.thanks": "Thank you for your feedback!",

    "site.title": "Real-time support: chat, calls and screen sharing.",
    "site.lead": "LiveAssist connects your customers with the right agent in seconds — from a widget on your site, routed by skill, language and priority. One click turns the chat into an audio or video call; either side can share their screen, and agents point and draw on it.",
    "site.demo": "Customer demo",
    "site.demoText": "A pretend shop with the chat widget embedded by one script tag: chat, then call and share your screen.",
    "site.console": "Agent console",
    "site.consoleText": "Sign in, go online, answer chats and calls, guide on a shared screen, and work tickets.",
    "site.api": "REST API",
    "site.apiText": "The OpenAPI description of every endpoint.",
    "site.health": "Health",
    "site.healthText": "The state of each component, for probes and people.",
    "site.embed": "Add the widget to your site",
    "site.embedText": "Paste this tag before </body> (and add your site's origin to server.allowed_origins):",

    "signin.title": "Sign in to the agent console",
    "signin.email": "Email",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.hint": "Demo accounts are listed in demo-accounts.txt in the server's data directory.",
    "signin.wrong": "Wrong email or password.",
    "signin.expired": "Your session has ended. Please sign in again.",
    "signin.revoked": "You were signed out (from this or another tab).",
    "signin.notAgent": "This console is for agents, supervisors and admins. QA reviewers use the review pages.",

    "console.skip": "Skip to content",
    "console.views": "Views",
    "console.chats": "Chats",
    "console.tickets": "Tickets",
    "console.signOut": "Sign out",
    "console.reconnecting": "Connection lost. Reconnecting…",
    "console.activeChats": "Active chats",
    "console.noChats": "No active chats",
    "console.noChatsHint": "New chats appear here while your status is Online.",
    "console.customer": "Customer",
    "console.vip": "VIP",
    "console.ticketRef": "Ticket #{id}",
    "console.replyPlaceholder": "Reply…",
    "console.transfer": "Transfer",
    "console.escalate": "Escalate",
    "console.close": "Close",
    "console.closeConfirm": "Close this chat? The customer will be asked to rate it.",
    "console.closeYes": "Close chat",
    "console.ended": "This chat has ended.",
    "console.dismiss": "Dismiss",
    "console.escalated": "Ticket #{id} stays open for follow-up.",
    "console.newChat": "New chat with {name}",
    "console.transferred": "The chat with {name} was transferred.",
    "console.chatLeft": "The chat with {name} went back to the line.",
    "console.csat": "Ticket #{id} was rated {score}/5.",
    "console.title": "Agent console",
    "console.restarting": "The server is restarting. Reconnecting…",
    "console.unreadCount": "{n} unread messages",

    "switcher.label": "Your chats",
    "switcher.hint": "Alt+↑ / Alt+↓ switch chats",
    "switcher.call.ringing": "Incoming call",
    "switcher.call.calling": "Calling",
    "switcher.call.active": "In call",
    "switcher.ended": "Ended",
    "switcher.waiting": "Waiting for your reply",
    "switcher.unread": "{n} unread",
    "switcher.switched": "Chat {n} of {total}: {name}",

    "language.en": "English",
    "language.zh": "Chinese",

    "presence.label": "My status",
    "presence.online": "Online",
    "presence.busy": "Busy",
    "presence.away": "Away",
    "presence.offline": "Offline",
    "presence.lost": "You are Offline: the connection was lost for longer than the grace period, so no new chats are sent to you. You were {status}.",
    "presence.again": "Be {status} again",
    "presence.stay": "Stay offline",

    "line.title": "Waiting",
    "line.empty": "Nobody is waiting.",
    "team.title": "Team",
    "team.load": "{load}/{max}",
    "team.empty": "Nobody is signed in.",

    "details.title": "Chat details",
    "details.none": "Select a chat to see the customer and the ticket.",
    "details.customer": "Customer",
    "details.ticket": "Ticket #{id}",
    "details.openTicket": "Open in Tickets",
    "details.name": "Name",
    "details.email": "Email",
    "details.externalId": "Customer ID",
    "details.since": "Customer since",
    "details.crm": "From the CRM",
    "details.history": "History with us",
    "details.firstContact": "First contact — no earlier chats or tickets.",
    "details.chatCount": "{n} earlier chat(s).",

    "ticket.subject": "Subject",
    "ticket.status": "Status",
    "ticket.priority": "Priority",
    "ticket.tags": "Tags",
    "ticket.tagsPlaceholder": "comma, separated",
    "ticket.assignee": "Assignee",
    "ticket.group": "Group",
    "ticket.csat": "Rating",
    "ticket.csatComment": "Rating comment",
    "ticket.changedMeanwhile": "This ticket changed meanwhile (now {status}); your edits are not saved yet.",
    "ticket.stale": "Not saved: this ticket changed since you opened it (now {status}).",
    "ticket.showCurrent": "Show the current ticket",
    "status.open": "Open",
    "status.pending": "Pending",
    "status.solved": "Solved",
    "status.closed": "Closed",
    "priority.low": "Low",
    "priority.normal": "Normal",
    "priority.high": "High",
    "priority.urgent": "Urgent",

    "transfer.title": "Transfer the chat with {name}",
    "transfer.agents": "To a colleague",
    "transfer.groups": "Back to a group's line",
    "transfer.noAgents": "No other agent is signed in.",
    "transfer.load": "{load}/{max} chats",
    "transfer.toQueue": "next free agent",
    "transfer.note": "Note for the next agent (staff only)",
    "transfer.notePlaceholder": "What has been tried, what is still open…",
    "transfer.confirm": "Transfer",
    "transfer.pick": "Choose an agent or a group.",

    "escalate.title": "Escalate ticket #{id}",
    "escalate.explain": "The ticket stays open for follow-up after this chat ends.",
    "escalate.note": "Internal note",
    "escalate.notePlaceholder": "Why it needs follow-up",
    "escalate.confirm": "Escalate",

    "tickets.title": "Tickets",
    "tickets.all": "All",
    "tickets.search": "Search subjects",
    "tickets.searchPlaceholder": "e.g. invoice",
    "tickets.apply": "Search",
    "tickets.updated": "Updated",
    "tickets.none": "No tickets match.",
    "tickets.previous": "Previous",
    "tickets.next": "Next",
    "tickets.range": "{first}–{last} of {total}",
    "tickets.pick": "Choose a ticket to read its conversation and history.",
    "tickets.opened": "opened {when}",
    "tickets.csat": "Rated {score}/5",
    "tickets.fields": "Fields",
    "tickets.transcripts": "Conversation",
    "tickets.noChats": "No chats on this ticket.",
    "tickets.chatHeading": "Chat of {when} · {agent}",
    "tickets.history": "History",
    "tickets.actorCustomer": "Customer",
    "tickets.actorSystem": "System",
    "tickets.eventCreated": "Ticket opened",

    "call.startAudio": "Audio call",
    "call.startVideo": "Video call",
    "call.region": "Call",
    "call.log": "Calls",
    "call.controls": "Call controls",
    "call.tools": "Point and draw on the shared screen",
    "call.audioWith": "Audio call with {name}",
    "call.videoWith": "Video call with {name}",
    "call.incoming.audio": "Incoming audio call",
    "call.incoming.video": "Incoming video call",
    "call.calling": "Calling…",
    "call.connecting": "Connecting…",
    "call.reconnecting": "Reconnecting…",
    "call.duration": "In call · {time}",
    "call.elsewhere": "This call goes on in another tab.",
    "call.ended": "Call ended",
    "call.accept": "Accept",
    "call.decline": "Decline",
    "call.cancel": "Cancel call",
    "call.mute": "Mute microphone",
    "call.camera": "Camera",
    "call.screen": "Share screen",
    "call.hangUp": "Hang up",
    "call.enableSound": "Turn on sound",
    "call.supervisorWhispers": "{name} (supervisor) is speaking to you. The customer cannot hear them.",
    "call.supervisorJoined": "{name}, a supervisor, has joined the call and can be heard.",
    "call.theirScreen": "Their screen",
    "call.theirCamera": "Their camera",
    "call.myScreen": "Your shared screen",
    "call.myCamera": "Your camera",
    "call.theyReconnect": "{name} is reconnecting…",
    "call.theyConnect": "Waiting for {name} to connect…",
    "call.quality": "{level} · MOS {mos}",
    "call.qualityMine": "Your connection: {level}, MOS {mos}, {rtt} ms, {loss}% lost",
    "call.qualityTheirs": "Their connection: {level}, MOS {mos}, {rtt} ms, {loss}% lost",
    "call.linkMine": "Relay measures yours: {level}, {rtt} ms, {up}% lost sending, {down}% lost receiving",
    "call.linkTheirs": "Relay measures theirs: {level}, {rtt} ms, {up}% lost sending, {down}% lost receiving",
    "call.stalled.audio": "Their sound stopped arriving",
    "call.stalled.camera": "Their video stopped arriving",
    "call.stalled.screen": "Their screen share stopped arriving",
    "call.level.good": "Good",
    "call.level.fair": "Fair",
    "call.level.poor": "Poor",
    "call.poorQuality": "The connection is poor. Switch to:",
    "call.toScreenOnly": "Screen share only",
    "call.toAudio": "Audio only",
    "call.toChat": "Chat only",
    "call.keep": "Keep as is",
    "call.downgraded.screen_only": "Cameras were turned off to keep the call smooth.",
    "call.downgraded.audio": "Switched to audio only to keep the call going.",
    "call.downgraded.chat": "The call ended; the chat goes on.",
    "call.problem.microphone": "No microphone could be used: the other side cannot hear you.",
    "call.problem.camera": "The camera could not be started.",
    "call.problem.screen": "The screen could not be shared.",
    "call.busy": "You are already in a call.",
    "call.ringingToast": "{name} is calling",
    "call.ringingAnnounce.audio": "{name} is calling you (audio call). Accept or decline it in the chat.",
    "call.ringingAnnounce.video": "{name} is calling you (video call). Accept or decline it in the chat.",
    "call.ringingBanner.audio": "{name} is calling (audio call)",
    "call.ringingBanner.video": "{name} is calling (video call)",
    "call.showChat": "Show chat",
    "call.log.ended.audio": "Audio call ended · {time}",
    "call.log.ended.video": "Video call ended · {time}",
    "call.log.endedWhy.audio": "Audio call ended · {time} ({why})",
    "call.log.endedWhy.video": "Video call ended · {time} ({why})",
    "call.log.missed.audio": "Missed audio call",
    "call.log.missed.video": "Missed video call",
    "call.log.noAnswer": "No answer",
    "call.log.declined": "Call declined",
    "call.log.cancelled": "Call cancelled",
    "call.log.failed": "The call could not start ({why})",
    "call.reason.hung_up": "hung up",
    "call.reason.declined": "declined",
    "call.reason.missed": "not answered",
    "call.reason.cancelled": "cancelled",
    "call.reason.network_lost": "connection lost",
    "call.reason.relay_lost": "media server lost",
    "call.reason.relay_unavailable": "no media server available",
    "call.reason.chat_ended": "the chat ended",
    "call.reason.error": "an error",
    "call.reason.poor_quality": "poor connection",
    "call.reason.server_shutdown": "server restarted",
    "event.callMissed.audio": "Missed audio call",
    "event.callMissed.video": "Missed video call",
    "event.callDeclined.audio": "Audio call declined",
    "event.callDeclined.video": "Video call declined",
    "event.callCancelled.audio": "Audio call cancelled",
    "event.callCancelled.video": "Video call cancelled",
    "event.callFailed.audio": "Audio call failed: {why}",
    "event.callFailed.video": "Video call failed: {why}",
    "event.callEnded.audio": "Audio call ended ({time}): {why}",
    "event.callEnded.video": "Video call ended ({time}): {why}",
    "endText.hung_up": "Hung up",
    "endText.declined": "Declined",
    "endText.missed": "Missed (not answered)",
    "endText.cancelled": "Cancelled by the caller",
    "endText.network_lost": "Network lost",
    "endText.relay_lost": "Media relay lost",
    "endText.relay_unavailable": "No media relay available",
    "endText.poor_quality": "Back to chat (poor connection)",
    "endText.chat_ended": "Chat ended",
    "endText.server_shutdown": "Server restarted",
    "endText.error": "Failed",
  },

  "zh-CN": {
    "common.cancel": "取消",
    "common.retry": "重试",
    "common.save": "保存",
    "common.saved": "已保存",
    "common.close": "关闭",
    "common.loading": "加载中…",
    "common.none": "无",
    "common.language": "语言",

    "error.network": "无法连接服务器，请检查网络后重试。",
    "error.disconnected": "当前未连接，连接恢复后会自动发送。",
    "error.timeout": "服务器响应超时，请重试。",
    "error.rateLimited": "操作过于频繁，请稍候再试。",
    "error.unsupportedFile": "只能上传截图、照片（PNG、JPEG、GIF、WebP）和短视频（MP4、WebM、MOV）。",
    "error.tooLarge": "文件太大。",
    "error.unauthenticated": "登录已过期，请重新登录。",
    "error.forbidden": "你没有权限执行此操作。",
    "error.internal": "服务器出错了，请重试。",

    "topic.general": "一般问题",
    "topic.billing": "账单与付款",
    "topic.technical": "技术问题",

    "msg.sending": "发送中…",
    "msg.sent": "已发送",
    "msg.read": "已读",
    "msg.failed": "发送失败。",
    "msg.retry": "重试",
    "msg.internalNote": "内部备注",
    "event.joined": "{name} 加入了对话",
    "event.joinedTransferred": "{name} 加入了对话（由 {by} 转接）",
    "event.joinedNote": "{name} 加入了对话（{note}）",
    "event.customerEnded": "客户结束了对话",
    "event.ended": "{name} 结束了对话",
    "event.escalated": "已转为工单 #{id}，后续将继续跟进",
    "event.unavailable": "{name} 暂时无法服务，正在为你寻找其他客服",
    "event.transferredTo": "{name} 将对话转给了 {group}",
    "event.transferNote": "转接备注：{note}",
    "event.escalationNote": "升级备注：{note}",
    "attachment.loading": "正在加载附件…",
    "attachment.failed": "附件加载失败。",

    "composer.label": "消息",
    "composer.placeholder": "输入消息…",
    "composer.attach": "添加截图、照片或视频",
    "composer.send": "发送",
    "composer.uploading": "正在上传 {name}…",

    "launcher.open": "在线咨询",
    "launcher.close": "隐藏聊天窗口",
    "launcher.unread": "在线咨询（{n} 条未读）",

    "widget.support": "客服",
    "widget.title": "{org} 客服",
    "widget.otherLanguage": "EN",
    "widget.switchLanguage": "Switch to English（切换到英文）",
    "widget.minimise": "最小化聊天窗口",
    "widget.unavailable": "在线咨询暂时不可用。",

    "header.online": "我们通常几分钟内回复",
    "header.offline": "客服暂时离开，请留言，我们会尽快回复",
    "header.new": "请告诉我们需要什么帮助",
    "header.queued": "正在等待客服…",
    "header.active": "{name} 正在为你服务",
    "header.ended": "对话已结束",
    "header.unavailable": "暂不可用",

    "prechat.intro": "你好！请简单介绍一下自己，我们会为你安排合适的客服。",
    "prechat.online": "当前有 {n} 位客服在线",
    "prechat.offline": "当前没有客服在线，你仍然可以留言。",
    "prechat.name": "你的称呼",
    "prechat.email": "电子邮箱",
    "prechat.optional": "（选填）",
    "prechat.topic": "咨询类型",
    "prechat.language": "对话语言",
    "prechat.start": "开始对话",
    "prechat.nameMissing": "请填写你的称呼。",
    "prechat.emailInvalid": "邮箱地址格式不正确。",
    "prechat.expired": "之前的对话已过期，请重新开始对话。",

    "chat.transcript": "对话记录",
    "chat.startHint": "发送一条消息即可开始，客服很快会加入。",
    "chat.waiting": "正在等待客服…",
    "chat.agent": "客服",
    "chat.typing": "{name} 正在输入…",
    "chat.reconnecting": "连接已断开，正在重新连接…",
    "chat.end": "结束对话",
    "chat.endConfirm": "确定要结束本次对话吗？",
    "chat.endYes": "结束对话",
    "chat.ended": "本次对话已结束。",
    "chat.endedShort": "本次对话已结束。",
    "chat.newChat": "开始新的对话",
    "chat.newMessages": "新消息",
    "chat.restarting": "服务器正在重启，正在重新连接…",
    "chat.reconnected": "已重新连接。",

    "queue.position": "你排在第 {n} 位。",
    "queue.positionWait": "你排在第 {n} 位，预计等待约 {min} 分钟。",
    "queue.noAgents": "你排在第 {n} 位。当前没有客服在线，客服上线后会尽快回复你。",

    "csat.question": "你对本次服务满意吗？",
    "csat.score1": "1 星：非常不满意",
    "csat.score2": "2 星：不满意",
    "csat.score3": "3 星：一般",
    "csat.score4": "4 星：满意",
    "csat.score5": "5 星：非常满意",
    "csat.comment": "还有什么想告诉我们的吗？",
    "csat.commentPlaceholder": "选填评价",
    "csat.submit": "提交评价",
    "csat.skip": "跳过",
    "csat.thanks": "感谢你的反馈！",

    "site.title": "实时客服：聊天、通话和屏幕共享。",
    "site.lead": "LiveAssist 通过你网站上的小组件，按技能、语言和优先级，在几秒内为客户接通合适的客服。一键即可把对话转为语音或视频通话；双方都能共享屏幕，客服还能在共享的屏幕上指示和标注。",
    "site.demo": "客户端演示",
    "site.demoText": "一个用一行 script 标签嵌入了聊天小组件的示例商店：先聊天，再通话并共享屏幕。",
    "site.console": "客服工作台",
    "site.consoleText": "登录、上线、接待会话和通话、在共享屏幕上指导客户、处理工单。",
    "site.api": "REST API",
    "site.apiText": "所有接口的 OpenAPI 描述。",
    "site.health": "健康状态",
    "site.healthText": "各组件的运行状态，供探针和运维人员查看。",
    "site.embed": "把小组件加到你的网站",
    "site.embedText": "把这个标签粘贴到 </body> 之前（并把你网站的来源加入 server.allowed_origins）：",

    "signin.title": "登录客服工作台",
    "signin.email": "邮箱",
    "signin.password": "密码",
    "signin.submit": "登录",
    "signin.hint": "演示账号列在服务器数据目录下的 demo-accounts.txt 中。",
    "signin.wrong": "邮箱或密码错误。",
    "signin.expired": "登录已失效，请重新登录。",
    "signin.revoked": "你已退出登录（在此标签页或其他标签页）。",
    "signin.notAgent": "此工作台仅供客服、主管和管理员使用，质检人员请使用质检页面。",

    "console.skip": "跳到主要内容",
    "console.views": "视图",
    "console.chats": "会话",
    "console.tickets": "工单",
    "console.signOut": "退出登录",
    "console.reconnecting": "连接已断开，正在重新连接…",
    "console.activeChats": "进行中的会话",
    "console.noChats": "暂无进行中的会话",
    "console.noChatsHint": "状态为“在线”时，新会话会显示在这里。",
    "console.customer": "客户",
    "console.vip": "VIP",
    "console.ticketRef": "工单 #{id}",
    "console.replyPlaceholder": "回复…",
    "console.transfer": "转接",
    "console.escalate": "升级",
    "console.close": "结束",
    "console.closeConfirm": "确定结束此会话吗？客户将被邀请评价。",
    "console.closeYes": "结束会话",
    "console.ended": "此会话已结束。",
    "console.dismiss": "移除",
    "console.escalated": "工单 #{id} 将保持打开以便跟进。",
    "console.newChat": "来自 {name} 的新会话",
    "console.transferred": "与 {name} 的会话已转接。",
    "console.chatLeft": "与 {name} 的会话已回到排队中。",
    "console.csat": "工单 #{id} 获得评分 {score}/5。",
    "console.title": "客服工作台",
    "console.restarting": "服务器正在重启，正在重新连接…",
    "console.unreadCount": "{n} 条未读消息",

    "switcher.label": "你的会话",
    "switcher.hint": "Alt+↑ / Alt+↓ 切换会话",
    "switcher.call.ringing": "来电",
    "switcher.call.calling": "呼叫中",
    "switcher.call.active": "通话中",
    "switcher.ended": "已结束",
    "switcher.waiting": "等待你回复",
    "switcher.unread": "{n} 条未读",
    "switcher.switched": "第 {n} 个会话，共 {total} 个：{name}",

    "language.en": "英语",
    "language.zh": "中文",

    "presence.label": "我的状态",
    "presence.online": "在线",
    "presence.busy": "忙碌",
    "presence.away": "离开",
    "presence.offline": "离线",
    "presence.lost": "你现在是“离线”：连接中断的时间超过了宽限期，新会话不会再分配给你。之前你是“{status}”。",
    "presence.again": "恢复为“{status}”",
    "presence.stay": "保持离线",

    "line.title": "排队中",
    "line.empty": "目前没有人在排队。",
    "team.title": "团队",
    "team.load": "{load}/{max}",
    "team.empty": "目前没有人登录。",

    "details.title": "会话详情",
    "details.none": "选择一个会话以查看客户和工单。",
    "details.customer": "客户",
    "details.ticket": "工单 #{id}",
    "details.openTicket": "在工单中打开",
    "details.name": "姓名",
    "details.email": "邮箱",
    "details.externalId": "客户编号",
    "details.since": "成为客户于",
    "details.crm": "来自 CRM",
    "details.history": "历史记录",
    "details.firstContact": "首次联系——没有更早的会话或工单。",
    "details.chatCount": "更早的会话 {n} 个。",

    "ticket.subject": "主题",
    "ticket.status": "状态",
    "ticket.priority": "优先级",
    "ticket.tags": "标签",
    "ticket.tagsPlaceholder": "用逗号分隔",
    "ticket.assignee": "处理人",
    "ticket.group": "小组",
    "ticket.csat": "评分",
    "ticket.csatComment": "评价内容",
    "ticket.changedMeanwhile": "此工单已被更改（现在：{status}），你的修改尚未保存。",
    "ticket.stale": "未保存：此工单在你打开后已被更改（现在：{status}）。",
    "ticket.showCurrent": "显示当前工单",
    "status.open": "待处理",
    "status.pending": "等待中",
    "status.solved": "已解决",
    "status.closed": "已关闭",
    "priority.low": "低",
    "priority.normal": "普通",
    "priority.high": "高",
    "priority.urgent": "紧急",

    "transfer.title": "转接与 {name} 的会话",
    "transfer.agents": "转给同事",
    "transfer.groups": "转回小组排队",
    "transfer.noAgents": "没有其他客服在线。",
    "transfer.load": "{load}/{max} 个会话",
    "transfer.toQueue": "下一位空闲客服",
    "transfer.note": "给下一位客服的备注（仅员工可见）",
    "transfer.notePlaceholder": "已经尝试了什么，还有什么没解决…",
    "transfer.confirm": "转接",
    "transfer.pick": "请选择一位客服或一个小组。",

    "escalate.title": "升级工单 #{id}",
    "escalate.explain": "会话结束后，该工单将保持打开以便跟进。",
    "escalate.note": "内部备注",
    "escalate.notePlaceholder": "为什么需要跟进",
    "escalate.confirm": "升级",

    "tickets.title": "工单",
    "tickets.all": "全部",
    "tickets.search": "搜索主题",
    "tickets.searchPlaceholder": "例如：发票",
    "tickets.apply": "搜索",
    "tickets.updated": "更新时间",
    "tickets.none": "没有符合条件的工单。",
    "tickets.previous": "上一页",
    "tickets.next": "下一页",
    "tickets.range": "第 {first}–{last} 条，共 {total} 条",
    "tickets.pick": "选择一个工单以查看对话和历史记录。",
    "tickets.opened": "创建于 {when}",
    "tickets.csat": "评分 {score}/5",
    "tickets.fields": "字段",
    "tickets.transcripts": "对话记录",
    "tickets.noChats": "此工单没有会话。",
    "tickets.chatHeading": "{when} 的会话 · {agent}",
    "tickets.history": "历史记录",
    "tickets.actorCustomer": "客户",
    "tickets.actorSystem": "系统",
    "tickets.eventCreated": "创建工单",

    "call.startAudio": "语音通话",
    "call.startVideo": "视频通话",
    "call.region": "通话",
    "call.log": "通话记录",
    "call.controls": "通话控制",
    "call.tools": "在共享屏幕上指示和标注",
    "call.audioWith": "与 {name} 语音通话",
    "call.videoWith": "与 {name} 视频通话",
    "call.incoming.audio": "语音来电",
    "call.incoming.video": "视频来电",
    "call.calling": "正在呼叫…",
    "call.connecting": "正在连接…",
    "call.reconnecting": "正在重新连接…",
    "call.duration": "通话中 · {time}",
    "call.elsewhere": "此通话正在另一个标签页中进行。",
    "call.ended": "通话已结束",
    "call.accept": "接听",
    "call.decline": "拒绝",
    "call.cancel": "取消呼叫",
    "call.mute": "麦克风静音",
    "call.camera": "摄像头",
    "call.screen": "共享屏幕",
    "call.hangUp": "挂断",
    "call.enableSound": "开启声音",
    "call.supervisorWhispers": "主管 {name} 正在对您讲话，客户听不到。",
    "call.supervisorJoined": "主管 {name} 已加入通话，双方都能听到。",
    "call.theirScreen": "对方的屏幕",
    "call.theirCamera": "对方的摄像头",
    "call.myScreen": "你共享的屏幕",
    "call.myCamera": "你的摄像头",
    "call.theyReconnect": "{name} 正在重新连接…",
    "call.theyConnect": "正在等待 {name} 连接…",
    "call.quality": "{level} · MOS {mos}",
    "call.qualityMine": "你的网络：{level}，MOS {mos}，{rtt} 毫秒，丢包 {loss}%",
    "call.qualityTheirs": "对方的网络：{level}，MOS {mos}，{rtt} 毫秒，丢包 {loss}%",
    "call.linkMine": "中继测得你的网络：{level}，{rtt} 毫秒，发送丢包 {up}%，接收丢包 {down}%",
    "call.linkTheirs": "中继测得对方的网络：{level}，{rtt} 毫秒，发送丢包 {up}%，接收丢包 {down}%",
    "call.stalled.audio": "对方的声音已中断",
    "call.stalled.camera": "对方的视频已中断",
    "call.stalled.screen": "对方的屏幕共享已中断",
    "call.level.good": "良好",
    "call.level.fair": "一般",
    "call.level.poor": "较差",
    "call.poorQuality": "网络状况较差，建议切换为：",
    "call.toScreenOnly": "仅共享屏幕",
    "call.toAudio": "仅语音",
    "call.toChat": "仅文字聊天",
    "call.keep": "保持不变",
    "call.downgraded.screen_only": "为保证通话流畅，已关闭摄像头。",
    "call.downgraded.audio": "为保持通话，已切换为仅语音。",
    "call.downgraded.chat": "通话已结束，可以继续文字聊天。",
    "call.problem.microphone": "无法使用麦克风，对方听不到你的声音。",
    "call.problem.camera": "无法启动摄像头。",
    "call.problem.screen": "无法共享屏幕。",
    "call.busy": "你已经在通话中。",
    "call.ringingToast": "{name} 来电",
    "call.ringingAnnounce.audio": "{name} 正在呼叫你（语音通话），可在对话中接听或拒绝。",
    "call.ringingAnnounce.video": "{name} 正在呼叫你（视频通话），可在对话中接听或拒绝。",
    "call.ringingBanner.audio": "{name} 来电（语音通话）",
    "call.ringingBanner.video": "{name} 来电（视频通话）",
    "call.showChat": "查看对话",
    "call.log.ended.audio": "语音通话已结束 · {time}",
    "call.log.ended.video": "视频通话已结束 · {time}",
    "call.log.endedWhy.audio": "语音通话已结束 · {time}（{why}）",
    "call.log.endedWhy.video": "视频通话已结束 · {time}（{why}）",
    "call.log.missed.audio": "未接语音来电",
    "call.log.missed.video": "未接视频来电",
    "call.log.noAnswer": "对方未接听",
    "call.log.declined": "通话已被拒绝",
    "call.log.cancelled": "已取消呼叫",
    "call.log.failed": "通话未能开始（{why}）",
    "call.reason.hung_up": "已挂断",
    "call.reason.declined": "已拒绝",
    "call.reason.missed": "无人接听",
    "call.reason.cancelled": "已取消",
    "call.reason.network_lost": "网络中断",
    "call.reason.relay_lost": "媒体服务器中断",
    "call.reason.relay_unavailable": "没有可用的媒体服务器",
    "call.reason.chat_ended": "对话已结束",
    "call.reason.error": "出现错误",
    "call.reason.poor_quality": "网络状况较差",
    "call.reason.server_shutdown": "服务器已重启",
    "event.callMissed.audio": "未接语音通话",
    "event.callMissed.video": "未接视频通话",
    "event.callDeclined.audio": "语音通话被拒绝",
    "event.callDeclined.video": "视频通话被拒绝",
    "event.callCancelled.audio": "语音通话已取消",
    "event.callCancelled.video": "视频通话已取消",
    "event.callFailed.audio": "语音通话失败：{why}",
    "event.callFailed.video": "视频通话失败：{why}",
    "event.callEnded.audio": "语音通话已结束（{time}）：{why}",
    "event.callEnded.video": "视频通话已结束（{time}）：{why}",
    "endText.hung_up": "已挂断",
    "endText.declined": "已拒绝",
    "endText.missed": "未接听",
    "endText.cancelled": "呼叫方已取消",
    "endText.network_lost": "网络中断",
    "endText.relay_lost": "媒体服务器中断",
    "endText.relay_unavailable": "没有可用的媒体服务器",
    "endText.poor_quality": "网络较差，已转回文字聊天",
    "endText.chat_ended": "对话已结束",
    "endText.server_shutdown": "服务器已重启",
    "endText.error": "失败",
  },
};

let current = initialLanguage();
const roots = new Set();
const listeners = new Set();

function initialLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // storage disabled: fall back to the browser's language
  }
  if (saved && DICTIONARY[saved]) return saved;
  const wanted = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return wanted.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function lang() {
  return current;
}

/** Switch the interface language everywhere, now and on the next visit. */
export function setLang(code) {
  if (!DICTIONARY[code] || code === current) return;
  current = code;
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // not remembered, but switched
  }
  for (const root of roots) translate(root);
  for (const listener of listeners) listener(code);
}

export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Keep `root` (a document or shadow root) translated when the language changes. */
export function watchRoot(root) {
  roots.add(root);
  translate(root);
}

/**
 * The text for `key` with {placeholders} filled in; args._ is the fallback for unknown keys.
 * An argument may itself be {key, args}: it is translated too (and again on a switch).
 */
export function t(key, args = null) {
  let text = DICTIONARY[current][key] ?? DICTIONARY.en[key] ?? (args && args._) ?? key;
  if (args) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? argText(args[name]) : whole));
  }
  return text;
}

/** An argument: plain text, {key, args} to be translated itself (e.g. a reason), or
 * {format, value} shown by a registered format (e.g. a date), both again on a switch. */
function argText(value) {
  if (value && typeof value === "object" && value.key) return t(value.key, value.args || null);
  if (value && typeof value === "object" && FORMATS.has(value.format)) {
    return FORMATS.get(value.format)(value.value);
  }
  return String(value);
}

export function translate(root) {
  for (const el of root.querySelectorAll("[data-i18n], [data-i18n-attrs], [data-format]")) {
    translateNode(el);
  }
}

const FORMATS = new Map();

/**
 * Register how elements with data-format="name" and data-value show their value (dates,
 * language names …): they are written again in the new language on every switch, like text.
 */
export function defineFormat(name, format) {
  FORMATS.set(name, format);
}

export function translateNode(el) {
  const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : null;
  if (el.dataset.format && FORMATS.has(el.dataset.format)) {
    el.textContent = FORMATS.get(el.dataset.format)(el.dataset.value);
  }
  if (el.dataset.i18n) el.textContent = t(el.dataset.i18n, args);
  if (el.dataset.i18nAttrs) {
    for (const [attr, key] of Object.entries(JSON.parse(el.dataset.i18nAttrs))) {
      el.setAttribute(attr, t(key, args));
    }
  }
}

/** The chat language ("en", "zh") that matches the interface language. */
export function chatLanguageFor(code) {
  return code.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** A chat language's name in the interface language ("Chinese" / "中文"), never its code. */
export function chatLanguageName(code) {
  if (!code) return "";
  const known = DICTIONARY[current][`language.${code}`];
  if (known) return known;
  try {
    return new Intl.DisplayNames([current], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}

defineFormat("language", chatLanguageName);

/** Add a page's own strings ({en: {...}, "zh-CN": {...}}), before its first translation:
 * pages with many strings of their own keep them beside their code. */
export function addStrings(strings) {
  for (const [code, entries] of Object.entries(strings)) {
    if (DICTIONARY[code]) Object.assign(DICTIONARY[code], entries);
  }
}
