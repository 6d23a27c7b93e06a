// EVO-TR's web page: plain JavaScript over the same API that OpenAI clients use.
// Rule of this file: model and user text only ever reach the page through textContent (or
// new Option(text)), never innerHTML — an answer containing <img onerror=...> stays text.
"use strict";

const $ = (id) => document.getElementById(id);
const conversation = [];         // the conversation sent with each message (OpenAI messages)
let apiKey = sessionStorage.getItem("evotr-api-key") || "";

function headers(json) {
  const h = json ? { "Content-Type": "application/json" } : {};
  if (apiKey) h.Authorization = "Bearer " + apiKey;
  return h;
}

function showError(text) {
  const box = $("error");
  box.textContent = text || "";
  box.hidden = !text;
}

// A non-2xx answer: OpenAI's {"error": {"message"}} when the server sent one.
async function failure(response) {
  if (response.status === 401) $("key-bar").hidden = false;
  try {
    const body = await response.json();
    return (body.error && body.error.message) || response.statusText;
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

async function api(path, body) {
  const init = body === undefined ? { headers: headers(false) }
    : { method: "POST", headers: headers(true), body: JSON.stringify(body) };
  const response = await fetch(path, init);
  if (!response.ok) throw new Error(await failure(response));
  return response.json();
}

function addMessage(role, text) {
  const node = document.createElement("article");
  node.className = "msg " + role;
  node.textContent = text;
  $("log").appendChild(node);
  node.scrollIntoView({ block: "end" });
  return node;
}

function badgeText(extras) {
  const adapter = extras.adapter || "temel model / base";
  const confidence = Math.round((extras.confidence || 0) * 100) + "%";
  return extras.intent + " · " + adapter + " · " + confidence + (extras.fallback ? " · fallback" : "");
}

// Server-sent events over fetch: "data: {chunk}\n\n" ... "data: [DONE]\n\n".
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (data === "[DONE]") return;
      if (data) yield JSON.parse(data);
    }
  }
}

async function send(text) {
  showError("");
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  const answer = $("answer-template").content.firstElementChild.cloneNode(true);
  const textNode = answer.querySelector(".text");
  answer.classList.add("streaming");
  $("log").appendChild(answer);
  let reply = "";
  let extras = null;
  try {
    const body = { model: $("model").value, messages: conversation, stream: true, evotr: { source: "web" } };
    const response = await fetch("/v1/chat/completions", { method: "POST", headers: headers(true),
                                                           body: JSON.stringify(body) });
    if (!response.ok) throw new Error(await failure(response));
    for await (const chunk of events(response)) {
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = chunk.choices && chunk.choices[0];
      if (choice && choice.delta && choice.delta.content) {
        reply += choice.delta.content;
        textNode.textContent = reply;
        answer.scrollIntoView({ block: "end" });
      }
      if (chunk.evotr) extras = chunk.evotr;
    }
  } catch (error) {
    conversation.pop();  // the server stored nothing: the question is not part of the conversation
    answer.remove();
    showError(error.message);
    return;
  } finally {
    answer.classList.remove("streaming");
  }
  conversation.push({ role: "assistant", content: reply });
  if (extras) showExtras(answer, extras);
}

function showExtras(answer, extras) {
  const badge = answer.querySelector(".badge");
  badge.textContent = badgeText(extras);
  badge.title = "intent · adapter · confidence — turn " + extras.turn_id;
  badge.hidden = false;
  answer.dataset.turnId = extras.turn_id;
  answer.querySelector(".actions").hidden = false;
  answer.querySelector(".good").addEventListener("click", () => feedback(answer, "thumbs_up"));
  answer.querySelector(".bad").addEventListener("click", () => feedback(answer, "thumbs_down"));
  answer.querySelector(".fix").addEventListener("click", () => openCorrection(answer));
}

async function feedback(answer, kind, text) {
  const status = answer.querySelector(".status");
  status.textContent = "…";
  try {
    const body = { turn_id: answer.dataset.turnId, kind: kind, source: "web" };
    if (text !== undefined) body.text = text;
    const receipt = await api("/v1/feedback", body);
    status.textContent = { thumbs_up: "👍 kaydedildi", thumbs_down: "👎 kaydedildi",
                           correction: "✏️ düzeltme kaydedildi" }[kind];
    if (receipt.training_started) status.textContent += " · eğitim başladı (" + receipt.training_started.family + ")";
    answer.dataset.feedback = kind;
    await refreshStats();
  } catch (error) {
    status.textContent = "";
    showError(error.message);
  }
}

let correcting = null;  // the answer the open ✏️ dialog corrects

function openCorrection(answer) {
  correcting = answer;
  $("correct-dialog").returnValue = "";
  $("correct-text").value = answer.querySelector(".text").textContent;
  $("correct-dialog").showModal();
}

async function refreshStats() {
  try {
    const s = await api("/v1/feedback/stats");
    $("stats").textContent = "👍 " + s.thumbs_up + " · 👎 " + s.thumbs_down + " · ✏️ " + s.corrections
      + " · " + s.message;
    $("stats").dataset.total = s.total;
  } catch (error) {
    $("stats").textContent = "istatistik yok: " + error.message;
  }
}

// auto / none / families (with their active version) / versions, as /v1/models lists them.
async function loadModels() {
  const select = $("model");
  const chosen = select.value;
  const { data } = await api("/v1/models");
  const groups = { routed: null, base: null, family: "Aileler / families", version: "Sürümler / versions" };
  select.replaceChildren();
  const made = {};
  for (const model of data) {
    const kind = (model.evotr && model.evotr.kind) || "version";
    let label = model.id;
    if (kind === "routed") label = "auto (yönlendirme)";
    else if (kind === "base") label = "none (temel model)";
    else if (kind === "family") label = model.evotr.family + " → " + (model.evotr.active || "temel model");
    else label = model.id.replace(/^evotr:/, "");
    let parent = select;
    if (groups[kind]) {
      if (!made[kind]) {
        made[kind] = document.createElement("optgroup");
        made[kind].label = groups[kind];
        select.appendChild(made[kind]);
      }
      parent = made[kind];
    }
    parent.appendChild(new Option(label, model.id));  // Option(text): set as text, not HTML
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  select.dataset.loaded = String(data.length);
}

function start() {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("input").value.trim();
    if (!text || $("send").disabled) return;
    $("input").value = "";
    $("send").disabled = true;
    send(text).finally(() => { $("send").disabled = false; $("input").focus(); });
  });
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("correct-dialog").addEventListener("close", () => {
    const text = $("correct-text").value.trim();
    if ($("correct-dialog").returnValue === "save" && text && correcting) feedback(correcting, "correction", text);
    correcting = null;
  });
  $("new-chat").addEventListener("click", () => {
    conversation.length = 0;
    $("log").replaceChildren();
    showError("");
  });
  $("key-save").addEventListener("click", () => {
    apiKey = $("api-key").value.trim();
    sessionStorage.setItem("evotr-api-key", apiKey);
    $("key-bar").hidden = true;
    showError("");
    init();
  });
  init();
}

function init() {
  Promise.all([loadModels(), refreshStats()]).catch((error) => showError(error.message));
}

start();
