/* cs_rag chat widget: <script src="https://SERVICE/widget.js" data-key="WIDGET_KEY" defer></script>
 * A floating button and a chat panel (in a shadow root, so the host page's styles do not leak
 * in). Answers stream from SERVICE/v1/answer; ratings go to SERVICE/v1/feedback. Everything
 * written by the bot or the customer is set as text, never as HTML. The conversation is kept in
 * sessionStorage (with the service's session id), so it survives a reload of the page. The
 * language follows <html lang>: English for "en*", Chinese otherwise. Plain ES2017, no build. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__csRagWidget) { return; }
  window.__csRagWidget = true;
  var base = new URL(script.src, location.href).origin;
  var key = script.getAttribute("data-key") || "";
  var english = (document.documentElement.lang || "").toLowerCase().indexOf("en") === 0;
  var T = english ? {
    open: "Chat with us", title: "Customer service", close: "Close", placeholder: "Type your question",
    label: "Your question", send: "Send", helpful: "Did this help you?", up: "Helpful", down: "Not helpful",
    thanks: "Thank you for your feedback.", why: "What was wrong? (optional)", sources: "Sources",
    handoff: "A colleague will take over this conversation. The assistant has stopped.",
    review: "A colleague is checking this answer and will reply shortly.",
    failed: "Sorry, something went wrong. Please try again.", busy: "Too many questions at once; please wait a moment.",
    choose: "Please choose:", reasons: {wrong: "Wrong", irrelevant: "Not what I asked", incomplete: "Incomplete",
      outdated: "Out of date", unclear: "Unclear", other: "Other"}
  } : {
    open: "在线客服", title: "在线客服", close: "关闭", placeholder: "请输入您的问题",
    label: "您的问题", send: "发送", helpful: "本次服务对您有帮助吗？", up: "有帮助", down: "没有帮助",
    thanks: "感谢您的反馈。", why: "哪里不满意？（可选）", sources: "参考资料",
    handoff: "已为您转接人工客服，请稍候。机器人已停止回复。",
    review: "该回答需要同事确认，稍后回复您。",
    failed: "抱歉，出了点问题，请稍后再试。", busy: "提问太频繁，请稍等片刻。",
    choose: "请选择：", reasons: {wrong: "答案错误", irrelevant: "答非所问", incomplete: "不完整",
      outdated: "信息过时", unclear: "看不懂", other: "其他"}
  };
  var STORE = "cs_rag_widget:" + base;
  var state = restore();
  var busy = false;

  function restore() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
      if (saved && Array.isArray(saved.messages)) { return saved; }
    } catch (e) { /* a broken entry starts a new conversation */ }
    return {session: null, open: false, stopped: false, messages: []};
  }
  function save() { try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* full */ } }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // ---- the frame ---------------------------------------------------------------------------
  var host = el("div", {id: "cs-rag-widget"});
  document.body.appendChild(host);
  var root = host.attachShadow({mode: "open"});
  root.appendChild(el("link", {rel: "stylesheet", href: base + "/widget.css"}));
  var launcher = el("button", {type: "button", "class": "launcher", "data-testid": "chat-open",
                                "aria-expanded": "false", "aria-controls": "cs-rag-panel"}, T.open);
  var panel = el("section", {id: "cs-rag-panel", "class": "panel", role: "dialog", "aria-label": T.title,
                             lang: english ? "en" : "zh-CN"});
  var head = el("header", {}, null);
  head.appendChild(el("h2", {}, T.title));
  var closer = el("button", {type: "button", "class": "close", "aria-label": T.close}, "×");
  head.appendChild(closer);
  var log = el("div", {"class": "log", role: "log", "aria-live": "polite"});
  var form = el("form", {"class": "ask"});
  var label = el("label", {"for": "cs-rag-input", "class": "hidden"}, T.label);
  var input = el("input", {id: "cs-rag-input", type: "text", maxlength: "2000", autocomplete: "off",
                           placeholder: T.placeholder, "data-testid": "chat-input"});
  var send = el("button", {type: "submit", "data-testid": "chat-send"}, T.send);
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(form);
  root.appendChild(launcher); root.appendChild(panel);

  function show(open) {
    state.open = open; save();
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    if (open) { input.focus(); } else { launcher.focus(); }
  }
  launcher.addEventListener("click", function () { show(!state.open); });
  closer.addEventListener("click", function () { show(false); });
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { show(false); } });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value.trim();
    if (question && !busy && !state.stopped) { input.value = ""; ask(question, null); }
  });

  // ---- messages ----------------------------------------------------------------------------
  function render() {
    log.textContent = "";
    state.messages.forEach(function (message, index) { log.appendChild(bubble(message, index)); });
    var stopped = state.stopped || busy;
    input.disabled = state.stopped; send.disabled = stopped;
    log.scrollTop = log.scrollHeight;
  }

  function bubble(message, index) {
    if (message.role === "user") { return el("p", {"class": "msg user"}, message.text); }
    var box = el("div", {"class": "msg bot", "data-testid": "chat-answer"});
    box.appendChild(el("p", {"class": "text"}, message.text));
    if (message.citations && message.citations.length) {
      var cites = el("div", {"class": "cites", "aria-label": T.sources});
      message.citations.forEach(function (c) {
        var item = el("details", {"data-testid": "chat-citation"});
        item.appendChild(el("summary", {}, "[" + c.marker + "] " + c.title));
        item.appendChild(el("p", {}, c.source + (c.path ? " · " + c.path : "")));
        cites.appendChild(item);
      });
      box.appendChild(cites);
    }
    if (message.options && message.options.length) {
      var options = el("div", {"class": "options", role: "group", "aria-label": T.choose});
      message.options.forEach(function (option) {
        var button = el("button", {type: "button", "data-testid": "chat-option"}, option.title);
        button.disabled = busy || state.stopped || message.picked;
        button.addEventListener("click", function () {
          message.picked = true; ask(option.title, option.id);
        });
        options.appendChild(button);
      });
      box.appendChild(options);
    }
    if (message.handoff) { box.appendChild(el("p", {"class": "notice", role: "status"}, T.handoff)); }
    if (message.answerId && !message.handoff) { box.appendChild(rating(message)); }
    return box;
  }

  function rating(message) {
    var row = el("div", {"class": "rating"});
    row.appendChild(el("span", {}, T.helpful));
    [["up", true, T.up], ["down", false, T.down]].forEach(function (spec) {
      var button = el("button", {type: "button", "data-testid": "feedback-" + spec[0],
                                 "aria-pressed": String(message.helpful === spec[1])}, spec[2]);
      button.addEventListener("click", function () { rate(message, spec[1], null); });
      row.appendChild(button);
    });
    if (message.helpful === false && !message.reason) {
      var reasons = el("div", {"class": "reasons", role: "group", "aria-label": T.why});
      reasons.appendChild(el("span", {}, T.why));
      Object.keys(T.reasons).forEach(function (code) {
        var button = el("button", {type: "button", "data-testid": "feedback-reason", "data-reason": code},
                        T.reasons[code]);
        button.addEventListener("click", function () { rate(message, false, code); });
        reasons.appendChild(button);
      });
      row.appendChild(reasons);
    }
    if (message.helpful !== undefined && (message.helpful || message.reason)) {
      row.appendChild(el("span", {"class": "thanks", role: "status"}, T.thanks));
    }
    return row;
  }

  function headers() {
    var result = {"Content-Type": "application/json"};
    if (key) { result.Authorization = "Bearer " + key; }
    return result;
  }

  function rate(message, helpful, reason) {
    message.helpful = helpful;
    if (reason) { message.reason = reason; }
    save(); render();
    var body = {answer_id: message.answerId, helpful: helpful};
    if (reason) { body.reason = reason; }
    fetch(base + "/v1/feedback", {method: "POST", headers: headers(), body: JSON.stringify(body)})
      .catch(function () { /* a lost rating is not worth interrupting the customer */ });
  }

  function ask(question, optionId) {
    busy = true;
    state.messages.push({role: "user", text: question});
    var reply = {role: "bot", text: ""};
    state.messages.push(reply);
    save(); render();
    var body = {question: question, session_id: state.session, stream: optionId === null};
    if (optionId !== null) { body.option_id = optionId; }
    var textNode = log.lastChild.querySelector(".text");
    fetch(base + "/v1/answer", {method: "POST", headers: headers(), body: JSON.stringify(body)})
      .then(function (response) {
        if (!response.ok) { throw said(response.status === 429 ? T.busy : T.failed); }
        if (optionId !== null) { return response.json().then(function (answer) { finish(reply, answer); }); }
        return stream(response, function (name, data) {
          if (name === "delta") { reply.text += data.text; textNode.textContent = reply.text; }
          else if (name === "answer") { finish(reply, data); }
          else if (name === "error") { throw said(T.failed); }
        });
      })
      .catch(function (error) { reply.text = error && error.said ? error.message : T.failed; })
      .then(function () { busy = false; save(); render(); });
  }

  function said(message) {   // an error whose message is for the customer's eyes
    var error = new Error(message);
    error.said = true;
    return error;
  }

  function stream(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        buffer += decoder.decode(chunk.value || new Uint8Array(), {stream: !chunk.done});
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(function (part) {
          var name = "message", data = "";
          part.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) { name = line.slice(7); }
            else if (line.indexOf("data: ") === 0) { data += line.slice(6); }
          });
          if (data) { onEvent(name, JSON.parse(data)); }
        });
        return chunk.done ? null : pump();
      });
    }
    return pump();
  }

  function finish(reply, answer) {
    state.session = answer.session_id;
    reply.answerId = answer.trace_id;
    reply.text = answer.routing === "review" ? T.review : answer.text;
    reply.citations = (answer.routing === "review" ? [] : answer.citations).map(function (c) {
      return {marker: c.marker, title: c.title, source: c.source, path: (c.heading_path || []).join(" / ")};
    });
    reply.options = answer.outcome === "clarify"
      ? answer.options.map(function (o) { return {id: o.id, title: o.title}; }) : [];
    reply.handoff = answer.routing === "handoff" || answer.outcome === "handoff";
    if (reply.handoff) { state.stopped = true; }
  }

  panel.hidden = !state.open;
  launcher.setAttribute("aria-expanded", String(state.open));
  render();
})();
