// The offline app (离线探访): the director's worklist kept on the phone, visits captured
// with no signal and sent in order when there is one.
//
// Everything about children is kept in IndexedDB, one database per user, encrypted with
// AES-GCM under the device's key: the server hands it out once when the phone registers,
// and the phone keeps it as a non-extractable CryptoKey (script can use it, not read it).
// Cards are found by the SHA-256 of their token; the token itself is never kept.
// The core (storage, crypto, sending) has no DOM so the service worker can run it too.
(function (global) {
  "use strict";
  const API = "/api/v1";
  const USER = "weibao.offline.user";
  const DAY_MS = 86400000;
  const REFRESH_MS = 10 * 60000;
  // Retried later, with backoff: no signal, signed out, timeouts, throttling, server errors.
  const RETRY = new Set([0, 401, 408, 429, 500, 502, 503, 504]);

  // ---- IndexedDB ----
  function openDb(userId) {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("weibao-" + userId, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore("meta");
        db.createObjectStore("queue", { keyPath: "key" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  function call(db, store, mode, fn) {
    return new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const r = fn(t.objectStore(store));
      t.oncomplete = () => resolve(r && r.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("本机存储写入失败"));
    });
  }
  const get = (db, store, key) => call(db, store, "readonly", (s) => s.get(key));
  const put = (db, store, value, key) =>
    call(db, store, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
  const del = (db, store, key) => call(db, store, "readwrite", (s) => s.delete(key));
  const all = (db, store) => call(db, store, "readonly", (s) => s.getAll());

  // ---- encryption ----
  async function seal(key, bytes) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, bytes);
    return { iv, data };
  }
  async function unseal(key, sealed) {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, key, sealed.data));
  }
  const sealJson = (key, v) => seal(key, new TextEncoder().encode(JSON.stringify(v)));
  const unsealJson = async (key, s) => JSON.parse(new TextDecoder().decode(await unseal(key, s)));
  async function sha256Hex(text) {
    const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    return Array.from(new Uint8Array(d)).map((b) => b.toString(16).padStart(2, "0")).join("");
  }
  function b64bytes(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  // ---- the server ----
  async function request(method, path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (opts.csrf) headers["X-CSRF-Token"] = opts.csrf;
    let body = opts.body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      return { status: 0, body: null };
    }
    let json = null;
    try { json = await res.json(); } catch (e) { json = null; }
    return { status: res.status, body: json };
  }
  function reason(r) {
    if (r.body && r.body.error && r.body.error.message) return r.body.error.message;
    return "服务器拒绝了这条记录（" + r.status + "）";
  }

  // ---- the user's store ----
  // Who uses the phone now (no child data): in localStorage for the pages, in the meta
  // database for the service worker, which has no localStorage.
  function currentUser() {
    try { return JSON.parse(global.localStorage.getItem(USER)); } catch (e) { return null; }
  }
  function setCurrentUser(u) {
    try { global.localStorage.setItem(USER, JSON.stringify(u)); } catch (e) { /* worker */ }
  }

  async function wipe(userId) {
    await new Promise((resolve) => {
      const r = indexedDB.deleteDatabase("weibao-" + userId);
      r.onsuccess = r.onerror = r.onblocked = () => resolve();
    });
  }

  // The worklist, or null; an expired one (no contact for the configured days) is wiped.
  async function loadWorklist(db) {
    const device = await get(db, "meta", "device");
    const sealed = await get(db, "meta", "worklist");
    if (!device || !sealed) return { device, list: null, expired: false };
    const contact = (await get(db, "meta", "contact")) || 0;
    if (Date.now() - contact > device.offline_days * DAY_MS) {
      await del(db, "meta", "worklist");
      return { device, list: null, expired: true };
    }
    return { device, list: await unsealJson(device.key, sealed), expired: false, contact };
  }

  async function queue(db) {
    const items = await all(db, "queue");
    return items.sort((a, b) => a.seq - b.seq);
  }

  // Saves a captured visit: its time is now (the capture), its key made now, so however
  // often it is sent it is recorded once.
  async function capture(userId, child, visit, photos) {
    const db = await openDb(userId);
    const device = await get(db, "meta", "device");
    if (!device) throw new Error("本机尚未下载工作清单，请在有信号时登录一次");
    const key = crypto.randomUUID();
    const capturedAt = Date.now();
    visit.visited_at = new Date(capturedAt).toISOString();
    const sealedPhotos = [];
    for (const p of photos) sealedPhotos.push(await seal(device.key, p));
    const seq = ((await queue(db)).reduce((m, i) => Math.max(m, i.seq), 0)) + 1;
    await put(db, "queue", {
      key, seq, captured_at: capturedAt, state: "waiting", reason: "", attempts: 0,
      sealed: await sealJson(device.key, {
        child_id: child.id, child_name: child.name, child_version: child.version,
        child_risk: child.risk, child_division: child.division, visit,
      }),
      photos: sealedPhotos,
    });
    db.close();
    if (global.registration && global.registration.sync) {
      try { await global.registration.sync.register("weibao-visits"); } catch (e) { /* none */ }
    }
    return key;
  }

  // What changed on the server since the download (moved, risk changed): shown to the
  // director, who sends anyway or discards; nothing is overwritten silently.
  function changes(item, child) {
    const out = [];
    if (child.division && child.division !== item.child_division) out.push("该儿童已迁至其他村（社区）");
    if (child.risk && child.risk !== item.child_risk) out.push("风险等级已由“" + item.child_risk + "”改为“" + child.risk + "”");
    if (!out.length && child.version !== item.child_version) out.push("该儿童的档案在您离线期间已被修改");
    return out;
  }

  // Sends what waits, oldest first; stops at the first failure worth retrying.
  async function sendQueue(db, device, csrf) {
    const out = { sent: 0, refused: 0, held: 0, retry: false };
    for (const item of await queue(db)) {
      if (item.state !== "waiting" && item.state !== "confirmed") continue;
      const v = await unsealJson(device.key, item.sealed);
      if (item.state === "waiting") {
        const c = await request("GET", API + "/children/" + encodeURIComponent(v.child_id));
        if (RETRY.has(c.status)) { out.retry = true; break; }
        if (c.status === 200 && c.body && c.body.version !== v.child_version) {
          const what = changes(v, { version: c.body.version, risk: c.body.risk, division: c.body.division });
          item.state = "changed";
          item.reason = what.join("；");
          await put(db, "queue", item);
          out.held++;
          continue;
        }
      }
      const photoIds = [];
      let failed = null;
      for (const p of item.photos) {
        const form = new FormData();
        form.append("file", new Blob([await unseal(device.key, p)], { type: "image/jpeg" }), "photo.jpg");
        const r = await request("POST", API + "/children/" + encodeURIComponent(v.child_id) + "/photos", { csrf, body: form });
        if (r.status !== 201) { failed = r; break; }
        photoIds.push(r.body.id);
      }
      let r = failed;
      if (!r) {
        const body = Object.assign({}, v.visit, { photos: photoIds });
        r = await request("POST", API + "/children/" + encodeURIComponent(v.child_id) + "/visits", {
          csrf, body, headers: { "Idempotency-Key": item.key },
        });
      }
      if (r.status === 201 || r.status === 200) {
        await del(db, "queue", item.key);
        out.sent++;
      } else if (RETRY.has(r.status)) {
        item.attempts++;
        if (await get(db, "queue", item.key)) await put(db, "queue", item);
        out.retry = true;
        break;
      } else {
        item.state = "refused";
        item.reason = reason(r);
        if (await get(db, "queue", item.key)) await put(db, "queue", item);
        out.refused++;
      }
    }
    return out;
  }

  // One contact at a time on this phone (pages and the service worker alike): two sends of
  // one queue at once would each see the other's visit as still waiting.
  let inFlight = null;
  function syncNow(force) {
    if (inFlight) return inFlight;
    const run = () => contact(force);
    const locks = global.navigator && global.navigator.locks;
    inFlight = (locks ? locks.request("weibao-offline-sync", run) : run())
      .finally(() => { inFlight = null; });
    return inFlight;
  }

  // One contact with the server: who is signed in, the device, the queue, the worklist.
  async function contact(force) {
    const user = currentUser();
    const me = await request("GET", API + "/me");
    if (me.status === 0) return { online: false };
    if (me.status !== 200) {
      // Signed out: a phone whose device was revoked (or whose account was disabled)
      // still learns it must wipe.
      if (user) {
        const db = await openDb(user.id);
        const device = await get(db, "meta", "device");
        db.close();
        if (device) {
          const s = await request("GET", API + "/offline/devices/" + device.id + "/state");
          if (s.status === 200 && s.body.state === "wipe") {
            await wipe(user.id);
            return { online: true, wiped: true };
          }
        }
      }
      return { online: true, signedOut: true };
    }
    const uid = me.body.user_id;
    setCurrentUser({ id: uid, name: me.body.display_name, username: me.body.username });
    const csrf = me.body.csrf_token;
    const db = await openDb(uid);
    try {
      let device = await get(db, "meta", "device");
      if (device) {
        const s = await request("GET", API + "/offline/devices/" + device.id + "/state");
        if (s.status === 200 && s.body.state === "wipe") {
          db.close();
          await wipe(uid);
          return { online: true, wiped: true };
        }
      } else {
        const r = await request("POST", API + "/offline/devices", {
          csrf, body: { label: (global.navigator.userAgent || "").slice(0, 120) },
        });
        if (r.status !== 201) return { online: true, error: reason(r) };
        const key = await crypto.subtle.importKey("raw", b64bytes(r.body.key), "AES-GCM", false, ["encrypt", "decrypt"]);
        device = { id: r.body.device.id, key, offline_days: r.body.offline_days };
        await put(db, "meta", device, "device");
      }
      const sent = await sendQueue(db, device, csrf);
      if (sent.sent > 0) {
        await request("POST", API + "/offline/devices/" + device.id + "/contact", { csrf });
      }
      // The list is fetched again at most every few minutes (every page of the day would
      // otherwise download it), unless the director asks.
      const last = (await get(db, "meta", "contact")) || 0;
      if (!force && (await get(db, "meta", "worklist")) && Date.now() - last < REFRESH_MS) {
        return { online: true, sent };
      }
      const w = await request("GET", API + "/offline/devices/" + device.id + "/worklist");
      if (w.status === 409) {
        db.close();
        await wipe(uid);
        return { online: true, wiped: true };
      }
      if (w.status === 200) {
        device.offline_days = w.body.offline_days;
        await put(db, "meta", device, "device");
        await put(db, "meta", await sealJson(device.key, w.body), "worklist");
        await put(db, "meta", Date.now(), "contact");
      }
      return { online: true, sent, children: w.status === 200 ? w.body.children.length : null };
    } finally {
      db.close();
    }
  }

  // A file of the unsent visits, decrypted, for the director to hand in when they cannot
  // be sent (the office enters them).
  async function exportQueue(userId) {
    const db = await openDb(userId);
    const device = await get(db, "meta", "device");
    const items = [];
    for (const i of await queue(db)) {
      const v = await unsealJson(device.key, i.sealed);
      items.push({ idempotency_key: i.key, captured_at: new Date(i.captured_at).toISOString(),
        state: i.state, reason: i.reason, child_id: v.child_id, child_name: v.child_name,
        visit: v.visit, photos: i.photos.length });
    }
    db.close();
    return new Blob([JSON.stringify({ unsent_visits: items }, null, 2)], { type: "application/json" });
  }

  global.WeibaoOffline = { openDb, get, put, del, queue, loadWorklist, capture, syncNow,
    wipe, exportQueue, sha256Hex, unsealJson, unseal, currentUser, request };

  if (typeof document === "undefined") return;

  // ---------------------------------------------------------------- pages ----
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").then((reg) => { global.registration = reg; })
      .catch(() => { /* not a secure origin: the app still works online */ });
    navigator.serviceWorker.addEventListener("message", (e) => {
      if (e.data && e.data.type === "sync") backgroundSync();
    });
  }

  let backoff = 2000;
  let timer = null;
  async function backgroundSync(force) {
    clearTimeout(timer);
    let r;
    try { r = await syncNow(force === true); } catch (e) { r = { online: false, error: String(e) }; }
    document.dispatchEvent(new CustomEvent("weibao-synced", { detail: r }));
    const waiting = await waitingCount();
    if (waiting > 0 && (!r.online || (r.sent && r.sent.retry) || r.signedOut)) {
      timer = setTimeout(backgroundSync, backoff);
      backoff = Math.min(backoff * 2, 300000);
    } else {
      backoff = 2000;
    }
    return r;
  }
  global.addEventListener("online", () => { backoff = 2000; backgroundSync(); });

  async function waitingCount() {
    const u = currentUser();
    if (!u) return 0;
    const db = await openDb(u.id);
    const n = (await queue(db)).filter((i) => i.state === "waiting" || i.state === "confirmed").length;
    db.close();
    return n;
  }

  function age(ms) {
    const m = Math.round((Date.now() - ms) / 60000);
    if (m < 60) return m + " 分钟前";
    if (m < 1440) return Math.round(m / 60) + " 小时前";
    return Math.round(m / 1440) + " 天前";
  }
  function when(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate()) + " " + p(d.getHours()) + ":" + p(d.getMinutes());
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k) e.append(k);
    return e;
  }
  function download(blob, name) {
    const a = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(a);
    a.click();
    a.remove();
  }

  // Signing out with unsent visits first tries to send them, then asks; the phone's data
  // is wiped before the session ends.
  function guardLogout() {
    document.querySelectorAll('form[action="/logout"]').forEach((form) => {
      form.addEventListener("submit", async (e) => {
        if (form.dataset.ready) return;
        e.preventDefault();
        const u = currentUser();
        if (u) {
          let n = await waitingCount();
          // A signal just back can fail the first try: one more after a second.
          for (let i = 0; n > 0 && i < 2; i++) {
            if (i) await new Promise((r) => setTimeout(r, 1000));
            await backgroundSync();
            n = await waitingCount();
          }
          if (n > 0) {
            if (global.confirm("有 " + n + " 条探访记录尚未发送。先保存为文件交给乡镇督导员吗？\n（确定：保存文件后退出；取消：留在本页）")) {
              download(await exportQueue(u.id), "未发送的探访记录.json");
            } else {
              return;
            }
          }
          const db = await openDb(u.id);
          const device = await get(db, "meta", "device");
          db.close();
          if (device) {
            await request("POST", API + "/offline/devices/" + device.id + "/wiped", {
              csrf: (form.querySelector('input[name="_csrf"]') || {}).value,
            });
          }
          await wipe(u.id);
          try { global.localStorage.removeItem(USER); } catch (err) { /* none */ }
        }
        form.dataset.ready = "1";
        form.submit();
      });
    });
  }

  async function statusBar(r) {
    const bar = document.getElementById("offline-bar");
    if (!bar) return;
    const n = await waitingCount();
    const parts = [];
    if (r && r.wiped) parts.push("本机离线数据已被收回并清除");
    else if (r && r.children !== null && r.children !== undefined) parts.push("已下载 " + r.children + " 名儿童，可离线探访");
    if (n > 0) parts.push(n + " 条探访待发送");
    if (!parts.length) parts.push(r && !r.online ? "离线探访：无信号，记录保存在本机" : "离线探访：没有待发送的记录");
    bar.textContent = parts.join(" · ");
    bar.dataset.state = r && r.children !== undefined ? "synced" : "";
  }

  // Another person signing in on this phone while the last one's visits wait: they are
  // sent by their owner, so first ask to save them to a file (or sign in as the owner).
  function guardLogin() {
    const form = document.querySelector('form[action^="/login"]');
    const last = currentUser();
    if (!form || !last) return;
    form.addEventListener("submit", async (e) => {
      if (form.dataset.ready) return;
      const typed = ((form.querySelector('input[name="username"]') || {}).value || "").trim().toLowerCase();
      if (!last.username || typed === last.username) return;
      e.preventDefault();
      const n = await waitingCount();
      if (n > 0) {
        if (!global.confirm("上一位用户（" + (last.name || last.username) + "）还有 " + n +
          " 条探访记录尚未发送。\n确定：先保存为文件，再以新用户登录；取消：请上一位用户登录发送。")) return;
        download(await exportQueue(last.id), "未发送的探访记录-" + last.username + ".json");
      }
      form.dataset.ready = "1";
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const body = document.body;
    guardLogout();
    guardLogin();
    if (body.dataset.userId) {
      const previous = currentUser();
      // Each user's data is in their own store; the pointer follows who signed in.
      setCurrentUser({ id: body.dataset.userId, name: body.dataset.userName || "",
        username: body.dataset.username || (previous && previous.id === body.dataset.userId ? previous.username : "") });
    }
    document.addEventListener("weibao-synced", (e) => statusBar(e.detail));
    if (document.getElementById("offline-app")) {
      app();
    } else if (body.dataset.offline) {
      backgroundSync();
    }
  });

  // ------------------------------------------------------------ the shell ----
  async function app() {
    const root = document.getElementById("offline-app");
    const status = document.getElementById("offline-status");
    const user = currentUser();
    if (!user) {
      root.replaceChildren(el("p", { class: "alert", text: "本机还没有离线数据：请在有信号时登录一次，工作清单会自动下载。" }),
        el("a", { class: "button primary", href: "/login?next=/offline", text: "登录" }));
      return;
    }
    const persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : false;
    let granted = persisted;
    if (!persisted && navigator.storage && navigator.storage.persist) {
      try { granted = await navigator.storage.persist(); } catch (e) { granted = false; }
    }
    document.getElementById("persist-state").textContent = granted
      ? "本机已允许长期保存离线数据"
      : "浏览器未允许长期保存：长时间不打开时离线数据可能被清除（苹果手机 7 天），请及时联网发送";
    document.getElementById("persist-state").dataset.granted = granted ? "1" : "0";

    async function draw(note) {
      const db = await openDb(user.id);
      const { device, list, expired, contact } = await loadWorklist(db);
      const items = await queue(db);
      const views = [];
      for (const i of items) {
        const v = device ? await unsealJson(device.key, i.sealed) : {};
        views.push({ i, v });
      }
      db.close();
      status.textContent = (navigator.onLine ? "在线" : "离线") +
        (contact ? " · 清单更新于 " + when(contact) + "，" + (device ? device.offline_days : 7) + " 天未联网将自动清除" : "");
      const parts = [];
      if (note) parts.push(el("p", { class: "notice", id: "offline-note", role: "status", text: note }));
      if (expired) parts.push(el("p", { class: "alert", id: "expired", text: "离线工作清单已超过 " + device.offline_days + " 天未同步，已从本机清除。请联网后重新下载。" }));
      // Unsent visits, first: what must not be forgotten.
      const q = el("section", { class: "card", id: "queue" }, el("h2", { text: "待发送的探访（" + items.length + "）" }));
      for (const { i, v } of views) {
        const label = { waiting: "等待发送", confirmed: "等待发送", refused: "服务器未接收", changed: "档案已变化，请确认" }[i.state];
        const row = el("div", { class: "queue-item", "data-state": i.state, "data-key": i.key },
          el("strong", { text: v.child_name || "" }),
          el("span", { text: " · " + when(i.captured_at) + "（" + age(i.captured_at) + "）· " + label }),
          i.reason ? el("p", { class: "reason", text: i.reason }) : null);
        if (i.state === "changed") {
          row.append(el("button", { type: "button", class: "send-anyway", text: "仍然提交", onclick: async () => {
            const db2 = await openDb(user.id); i.state = "confirmed"; i.reason = ""; await put(db2, "queue", i); db2.close();
            draw(); backgroundSync().then(() => draw());
          } }));
        }
        if (i.state === "refused" || i.state === "changed") {
          row.append(el("button", { type: "button", class: "discard", text: "放弃这条记录", onclick: async () => {
            if (!global.confirm("放弃后这条探访记录将从本机删除，确定吗？")) return;
            const db2 = await openDb(user.id); await del(db2, "queue", i.key); db2.close(); draw();
          } }));
        }
        q.append(row);
      }
      if (items.length) {
        q.append(el("button", { type: "button", id: "sync-now", text: "立即发送", onclick: async () => { await backgroundSync(true); draw(); } }),
          el("button", { type: "button", class: "link", id: "save-file", text: "保存为文件", onclick: async () => download(await exportQueue(user.id), "未发送的探访记录.json") }));
      }
      parts.push(q);
      const w = el("section", { class: "card", id: "worklist" }, el("h2", { text: "工作清单" }));
      if (!list) {
        w.append(el("p", { text: "本机没有工作清单：联网后打开任一页面即可下载。" }));
      } else {
        w.append(el("p", { class: "sub", text: "到期与逾期 " + list.children.length + " 名" }));
        const ul = el("ul", { class: "list" });
        for (const c of list.children) {
          ul.append(el("li", {}, el("a", { href: "/offline?child=" + encodeURIComponent(c.id), class: "child-link", "data-child": c.id, text: c.name }),
            el("span", { class: c.overdue ? "tag warn" : "tag", text: (c.overdue ? "已逾期 " : "应访 ") + c.due_date }),
            el("small", { text: " " + c.place + " · " + c.categories.join("、") + " · 风险" + c.risk })));
        }
        w.append(ul);
      }
      parts.push(w);
      root.replaceChildren(...parts);
      return list;
    }

    const params = new URLSearchParams(location.search);
    const scanned = location.pathname.match(/^\/k\/([A-Za-z0-9]+)$/);
    let list = await draw(params.get("saved") ? "探访记录已保存在本机，有信号时自动发送" : "");
    let child = null;
    if (list && scanned) {
      const hash = await sha256Hex(scanned[1].toLowerCase());
      child = list.children.find((c) => c.card_hash === hash) || null;
      if (!child) root.prepend(el("p", { class: "alert", id: "scan-miss", text: "下载的工作清单中没有这张卡片的儿童：请联网后扫码，或确认卡片是否已补发。" }));
    } else if (list && params.get("child")) {
      child = list.children.find((c) => c.id === params.get("child")) || null;
    } else if (!list && scanned) {
      root.prepend(el("p", { class: "alert", id: "scan-miss", text: "本机没有离线工作清单，无法离线识别这张卡片：请联网后再扫码。" }));
    }
    if (child) form(root, user, list, child);
    backgroundSync().then(async (r) => {
      if (r.online && !child) list = await draw(r.wiped ? "本机离线数据已被收回并清除" : "");
    });
    global.addEventListener("offline", () => { status.textContent = "离线"; });
  }

  // The visit form drawn from the downloaded choices.
  function form(root, user, list, child) {
    const f = list.form;
    const radios = (name, values, checked, labelOf) => el("div", { class: "choice", role: "radiogroup", "aria-label": name },
      ...values.map((v) => el("label", { class: "pill" },
        el("input", { type: "radio", name, value: String(v), checked: String(v) === String(checked) }),
        el("span", { text: labelOf ? labelOf(v) : String(v) }))));
    const lv = child.last_visit;
    const form = el("form", { class: "stack visit-form card", id: "offline-visit-form" },
      el("h2", { text: "离线探访：" + child.name }),
      el("p", { class: "sub", text: child.place + " · " + child.categories.join("、") + " · 风险" + child.risk + (child.caregiver ? " · 照料人 " + child.caregiver : "") }),
      lv ? el("p", { class: "hint", id: "last-visit", text: "上次探访 " + lv.on + "，风险" + lv.risk_after + (lv.findings.length ? "；发现：" + lv.findings.join("；") : "；各项正常") + (lv.needs ? "；需求：" + lv.needs : "") }) : null,
      el("fieldset", {}, el("legend", { text: "探访情况" }),
        radios("method", f.methods, f.methods[0]),
        radios("duration_minutes", f.durations, 30, (d) => d + " 分钟"),
        el("div", { class: "choice", "aria-label": "在场人员" }, ...f.presents.map((p, i) => el("label", { class: "pill" },
          el("input", { type: "checkbox", name: "present", value: p, checked: i === 0 }), el("span", { text: p })))),
        el("label", { text: "实际照料人" }, el("input", { name: "caregiver", value: child.caregiver }))),
      el("fieldset", {}, el("legend", { text: "检查项" }),
        ...child.checks.map((item, i) => el("div", { class: "check-row" },
          el("span", { class: "choice-label", text: item }),
          radios("check_" + i, f.findings, f.findings[0]),
          el("input", { name: "note_" + i, placeholder: item + "情况说明（选填）", class: "note" })))),
      el("fieldset", {}, el("legend", { text: "探访后风险等级" }), radios("risk_after", f.risks, child.risk)),
      el("fieldset", {}, el("legend", { text: "照片（最多 " + f.max_photos + " 张）" }),
        el("label", { class: "button photo-button", text: "拍照或选择照片" },
          el("input", { type: "file", name: "photos", accept: "image/*", capture: "environment", multiple: true, id: "offline-photos" })),
        el("p", { class: "hint", id: "photo-count", text: "" })),
      el("label", { text: "发现的需求" }, el("textarea", { name: "needs", rows: "2" })),
      el("label", { text: "提供的帮助" }, el("textarea", { name: "help_given", rows: "2" })),
      el("label", { text: "备注" }, el("textarea", { name: "notes", rows: "2" })),
      el("p", { class: "alert", id: "offline-error", role: "alert", hidden: true }),
      el("button", { type: "submit", class: "primary big", id: "save-offline-visit", text: "保存探访记录（有信号时自动发送）" }));
    const photos = [];
    form.querySelector("#offline-photos").addEventListener("change", async (e) => {
      for (const file of e.target.files) {
        if (photos.length >= f.max_photos) break;
        photos.push(await shrinkTo(file, f.max_photo_bytes));
      }
      e.target.value = "";
      form.querySelector("#photo-count").textContent = "已选 " + photos.length + " 张";
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const d = new FormData(form);
      const visit = {
        method: d.get("method"), duration_minutes: Number(d.get("duration_minutes")),
        present: d.getAll("present"), caregiver: d.get("caregiver") || "",
        checks: child.checks.map((item, i) => ({ item, finding: d.get("check_" + i), note: d.get("note_" + i) || null })),
        risk_after: d.get("risk_after"), needs: d.get("needs") || "", help_given: d.get("help_given") || "",
        notes: d.get("notes") || "",
      };
      const err = form.querySelector("#offline-error");
      if (photos.some((p) => p.byteLength > f.max_photo_bytes)) {
        err.textContent = "照片过大（上限 " + Math.floor(f.max_photo_bytes / 1048576) + " MB），请重新拍摄";
        err.hidden = false;
        return;
      }
      try {
        await capture(user.id, child, visit, photos);
      } catch (x) {
        err.textContent = "保存失败：" + (x.message || x);
        err.hidden = false;
        return;
      }
      location.href = "/offline?saved=1";
    });
    root.prepend(form);
  }

  // A photo made smaller on the phone (longest side 1600 px, JPEG) until it fits.
  async function shrinkTo(file, max) {
    const raw = new Uint8Array(await file.arrayBuffer());
    let bitmap;
    try { bitmap = await createImageBitmap(file); } catch (e) { return raw; }
    const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const q of [0.85, 0.7, 0.5, 0.35]) {
      const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", q));
      if (blob && blob.size <= max) return new Uint8Array(await blob.arrayBuffer());
    }
    return raw;
  }
})(typeof self !== "undefined" ? self : window);
