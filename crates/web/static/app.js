// Small progressive enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Tell the user at once when the two new passwords differ, before they submit.
  const pw = document.querySelector("input[name=new_password]");
  const confirm = document.querySelector("input[name=confirm_password]");
  if (pw && confirm) {
    const check = () => confirm.setCustomValidity(
      confirm.value && confirm.value !== pw.value ? "两次输入的新密码不一致" : "");
    pw.addEventListener("input", check);
    confirm.addEventListener("input", check);
  }
  // Check 身份证号 and phone numbers as they are typed, with the same words the server uses.
  for (const input of document.querySelectorAll("input[data-idcard]")) {
    const show = () => message(input, idCardProblem(input.value));
    input.addEventListener("blur", show);
    input.addEventListener("input", () => { if (input.value.length >= 18) show(); });
  }
  for (const input of document.querySelectorAll("input[data-phone]")) {
    input.addEventListener("blur", () => message(input, phoneProblem(input.value)));
  }
  // The server named a field: put the cursor there (in the refused form, when the page
  // has several).
  const err = document.getElementById("form-error");
  if (err && err.dataset.field) {
    const name = err.dataset.field.replace(/^guardians\[(\d)\]\./, (_, i) => "g" + (Number(i) + 1) + "_")
      .replace(".", "_");
    const field = (err.closest("form") || document).querySelector(`[name="${name}"]`);
    if (field) { field.focus(); message(field, err.textContent); }
  } else if (err && err.closest("details")) {
    err.scrollIntoView({ block: "center" });
  }
  // A referral to a non-government agency asks for consent: the consent fields show only
  // when such a unit is chosen (without this script they are always there).
  for (const form of document.querySelectorAll("[data-consent-form]")) {
    const select = form.querySelector("[data-consent-select]");
    const fields = form.querySelector("[data-consent-fields]");
    if (!select || !fields) { continue; }
    const toggle = () => {
      const option = select.options[select.selectedIndex];
      fields.hidden = !(option && option.dataset.consent);
    };
    select.addEventListener("change", toggle);
    toggle();
  }
  // An anonymous report has no name or phone: the fields step aside.
  const anonymous = document.getElementById("anonymous");
  const reporterFields = document.querySelector("[data-reporter-fields]");
  if (anonymous && reporterFields) {
    const toggle = () => { reporterFields.hidden = anonymous.checked; };
    anonymous.addEventListener("change", toggle);
    toggle();
  }
  const importForm = document.getElementById("import-form");
  if (importForm) { setUpImport(importForm); }
  const visitForm = document.getElementById("visit-form");
  if (visitForm) { setUpVisit(visitForm); }
  setUpAllowances();
  for (const b of document.querySelectorAll("[data-print]")) {
    b.addEventListener("click", () => window.print());
  }
  for (const a of document.querySelectorAll("[data-back]")) {
    a.addEventListener("click", (e) => { e.preventDefault(); history.back(); });
  }
  // A form is sent once: a second tap on a slow connection must not submit it again.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (e) => {
      setTimeout(() => {
        if (e.defaultPrevented) { return; }
        for (const b of form.querySelectorAll("button[type=submit]")) { b.disabled = true; }
      }, 0);
    });
  }
});

function message(input, text) {
  const slot = input.parentElement.querySelector(".field-msg");
  input.setAttribute("aria-invalid", text ? "true" : "false");
  if (slot) { slot.textContent = text || ""; }
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";

function idCardProblem(raw) {
  const v = raw.trim().toUpperCase();
  if (!v) { return ""; }
  if (v.length !== 18) { return `身份证号应为 18 位，实际为 ${v.length} 位`; }
  if (!/^[0-9]{17}[0-9X]$/.test(v)) { return "身份证号前 17 位应为数字，最后一位为数字或 X"; }
  const y = Number(v.slice(6, 10)), m = Number(v.slice(10, 12)), d = Number(v.slice(12, 14));
  const date = new Date(y, m - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== m - 1 || date.getDate() !== d) {
    return `身份证号中的出生日期 ${v.slice(6, 14)} 不是有效日期`;
  }
  if (date > new Date()) { return "身份证号中的出生日期晚于今天，请核对"; }
  let sum = 0;
  for (let i = 0; i < 17; i++) { sum += Number(v[i]) * ID_WEIGHTS[i]; }
  const want = ID_CHECK[sum % 11];
  if (v[17] !== want) { return `身份证号校验位应为 ${want}，实际为 ${v[17]}`; }
  return "";
}

function phoneProblem(raw) {
  const v = raw.replace(/[\s-]/g, "");
  if (!v) { return ""; }
  if (/^1[0-9]{10}$/.test(v) || /^0[0-9]{6,11}$/.test(v)) { return ""; }
  return "电话号码无效：手机号应为 1 开头的 11 位数字，座机请带区号";
}

// Excel import: a dry run first (report by row), then the commit with the same file.
function setUpImport(form) {
  const progressBox = document.getElementById("import-progress");
  const bar = progressBox.querySelector("progress");
  const stage = document.getElementById("import-stage");
  const reportBox = document.getElementById("import-report");
  let file = null;
  let division = "";
  // The user's choices of field per column (letters → field, "" = do not import).
  let mapping = {};
  // The ledger's import by default; another import names its endpoint and its rows.
  const endpoint = form.dataset.endpoint || "/api/v1/children/import";
  const noun = form.dataset.noun || "名儿童";
  const doneHref = form.dataset.done || "/children?division=";

  function send(dryRun) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      const chosen = Object.keys(mapping).length ? `&mapping=${encodeURIComponent(JSON.stringify(mapping))}` : "";
      xhr.open("POST", `${endpoint}?division=${encodeURIComponent(division)}&dry_run=${dryRun}${chosen}`);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.responseType = "json";
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          stage.textContent = `正在上传… ${bar.value}%`;
        }
      });
      xhr.upload.addEventListener("load", () => {
        bar.removeAttribute("value");
        stage.textContent = dryRun ? "正在逐行检查…" : "正在导入…";
      });
      xhr.addEventListener("load", () => resolve({ status: xhr.status, body: xhr.response }));
      xhr.addEventListener("error", () => reject(new Error("网络中断，请重试")));
      const data = new FormData();
      data.append("file", file);
      xhr.send(data);
    });
  }

  function showReport(status, body, dryRun) {
    progressBox.hidden = true;
    reportBox.hidden = false;
    reportBox.textContent = "";
    setTimeout(() => reportBox.scrollIntoView({ block: "start" }), 0);
    const h = document.createElement("h2");
    const p = document.createElement("p");
    if (!body || body.error) {
      h.textContent = "无法导入";
      p.textContent = body && body.error ? body.error.message : `服务器返回 ${status}`;
      reportBox.append(h, p);
      return;
    }
    if (!dryRun && !body.dry_run && !(body.errors || []).length) {
      h.textContent = body.summary || `已导入 ${body.imported} ${noun}`;
      h.id = "import-done";
      const a = document.createElement("a");
      a.href = `${doneHref}${encodeURIComponent(division)}`;
      a.textContent = form.dataset.endpoint ? "查看" : "查看台账";
      reportBox.append(h, a);
      return;
    }
    h.textContent = body.errors.length ? `发现 ${body.errors.length} 处问题` : "检查通过";
    p.textContent = `工作表“${body.sheet}”，表头在第 ${body.header_row} 行；读取 ${body.rows_read} 行，其中 ${body.rows_good} 行无误。`;
    reportBox.append(h, p);
    if (body.summary && !body.errors.length) {
      const s = document.createElement("p");
      s.id = "import-summary";
      s.textContent = body.summary + "。";
      reportBox.append(s);
    }
    if (body.columns && body.columns.length) { reportBox.append(mappingTable(body)); }
    if (body.errors.length) {
      const wrap = document.createElement("div");
      wrap.className = "table-wrap";
      const table = document.createElement("table");
      table.id = "import-errors";
      table.innerHTML = "<thead><tr><th>行号</th><th>字段</th><th>问题</th></tr></thead>";
      const tbody = document.createElement("tbody");
      for (const e of body.errors.slice(0, 500)) {
        const tr = document.createElement("tr");
        for (const v of [e.row, e.field, e.message]) {
          const td = document.createElement("td");
          td.textContent = String(v);
          tr.append(td);
        }
        tbody.append(tr);
      }
      table.append(tbody);
      wrap.append(table);
      reportBox.append(wrap);
      const fix = document.createElement("p");
      fix.textContent = "请在 Excel 中修改以上各行后重新试导入；有问题时不会导入任何一行。";
      reportBox.append(fix);
    } else if ((body.columns || []).some((c) => !c.field && c.has_data && c.candidates.length && !c.chosen)) {
      const wait = document.createElement("p");
      wait.id = "import-undecided";
      wait.className = "alert info";
      wait.textContent = "标黄的列有内容但没有导入：请在“导入为”中为它选择字段，或选择“不导入”，然后才能确认导入。";
      reportBox.append(wait);
    } else if (body.rows_good > 0) {
      const go = document.createElement("button");
      go.type = "button";
      go.className = "primary";
      go.id = "import-commit";
      go.textContent = `确认导入 ${body.rows_good} ${noun}`;
      go.addEventListener("click", () => run(false));
      reportBox.append(go);
    }
  }

  // Each column, the field it fills and a select to change it; a change checks again.
  function mappingTable(body) {
    const box = document.createElement("details");
    box.id = "import-mapping";
    const lost = body.columns.filter((c) => !c.field && c.has_data && c.candidates.length && !c.chosen);
    box.open = true;
    const summary = document.createElement("summary");
    summary.textContent = `列的对应（${body.columns.filter((c) => c.field).length} 列导入` +
      (lost.length ? `，${lost.length} 列有内容但未导入，请确认` : "") + "）";
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "系统按表头的意思自动对应了各列；如有不对，请在“导入为”中改选，系统会按新的对应重新检查。";
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>列</th><th>表头（第一行内容）</th><th>导入为</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const c of body.columns) {
      const tr = document.createElement("tr");
      tr.dataset.column = c.column;
      if (!c.field && c.has_data && c.candidates.length && !c.chosen) { tr.className = "warn"; }
      const letter = document.createElement("td");
      letter.textContent = c.column;
      const head = document.createElement("td");
      head.textContent = c.header;
      if (c.sample) {
        const sample = document.createElement("div");
        sample.className = "hint";
        sample.textContent = c.sample;
        head.append(sample);
      }
      tr.append(letter, head);
      const td = document.createElement("td");
      const select = document.createElement("select");
      select.name = `map-${c.column}`;
      select.setAttribute("aria-label", `第 ${c.column} 列“${c.header}”导入为`);
      const none = document.createElement("option");
      none.value = ""; none.textContent = "不导入";
      select.append(none);
      const ordered = c.candidates.concat(body.fields.map((f) => f.field).filter((f) => !c.candidates.includes(f)));
      for (const f of ordered) {
        const o = document.createElement("option");
        o.value = f;
        o.textContent = (body.fields.find((x) => x.field === f) || { label: f }).label;
        select.append(o);
      }
      select.value = c.field || "";
      select.addEventListener("change", () => {
        // A field goes to one column: the column that had it is now left out, and says so.
        for (const other of body.columns) {
          if (other.column !== c.column && select.value && other.field === select.value) { mapping[other.column] = ""; }
        }
        mapping[c.column] = select.value;
        run(true);
      });
      td.append(select);
      if (c.note) {
        const note = document.createElement("div");
        note.className = "hint";
        note.textContent = c.note;
        td.append(note);
      }
      tr.append(td);
      tbody.append(tr);
    }
    table.append(tbody);
    wrap.append(table);
    box.append(summary, hint, wrap);
    return box;
  }

  async function run(dryRun) {
    reportBox.hidden = true;
    progressBox.hidden = false;
    bar.value = 0;
    try {
      const { status, body } = await send(dryRun);
      showReport(status, body, dryRun);
    } catch (err) {
      showReport(0, { error: { message: err.message } }, dryRun);
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    file = form.elements.file.files[0];
    division = form.elements.division.value;
    mapping = {};
    if (file) { run(true); }
  });
}

// ---- The visit form: a draft kept on the phone, photos shrunk before upload, one submit
// that survives a dropped connection (retried with the same idempotency key).
function setUpVisit(form) {
  const draftKey = "weibao:" + form.dataset.draft;
  const errorBox = document.getElementById("form-error");
  const progress = document.getElementById("submit-progress");
  const button = document.getElementById("submit-visit");
  const fileInput = document.getElementById("photos");
  const previews = document.getElementById("photo-previews");
  const maxPhotos = Number(fileInput ? fileInput.dataset.max : 6);
  let photos = []; // resized JPEG blobs

  const save = () => {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.name === "_csrf") { continue; }
      if ((el.type === "radio" || el.type === "checkbox")) {
        if (!data[el.name]) { data[el.name] = []; }
        if (el.checked) { data[el.name].push(el.value); }
      } else { data[el.name] = el.value; }
    }
    try { localStorage.setItem(draftKey, JSON.stringify(data)); } catch (_) { /* private mode */ }
  };
  const restore = () => {
    let data = null;
    try { data = JSON.parse(localStorage.getItem(draftKey) || "null"); } catch (_) { data = null; }
    if (!data || errorBox.dataset.field !== undefined && !errorBox.hidden) { return; }
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.name === "_csrf" || !(el.name in data)) { continue; }
      const v = data[el.name];
      if (el.type === "radio" || el.type === "checkbox") { el.checked = Array.isArray(v) && v.includes(el.value); }
      else { el.value = v; }
    }
    document.getElementById("draft-note").textContent = "已恢复上次未提交的草稿。";
  };
  restore();
  form.addEventListener("input", save);
  form.addEventListener("change", save);

  if (fileInput) {
    fileInput.addEventListener("change", async () => {
      for (const file of fileInput.files) {
        if (photos.length >= maxPhotos) { showError(`每次探访最多 ${maxPhotos} 张照片`); break; }
        try { photos.push(await shrink(file)); } catch (_) { showError("有一张照片无法读取，请重新拍摄"); }
      }
      fileInput.value = "";
      drawPreviews();
    });
  }
  function drawPreviews() {
    previews.textContent = "";
    photos.forEach((blob, i) => {
      const img = document.createElement("img");
      img.className = "thumb"; img.alt = "待上传照片"; img.src = URL.createObjectURL(blob);
      const remove = document.createElement("button");
      remove.type = "button"; remove.textContent = "删除";
      remove.addEventListener("click", () => { photos.splice(i, 1); drawPreviews(); });
      const box = document.createElement("span");
      box.className = "stack"; box.append(img, remove);
      previews.append(box);
    });
  }
  const loc = document.getElementById("use-location");
  if (loc) {
    loc.addEventListener("change", () => {
      if (!loc.checked || !navigator.geolocation) { for (const id of ["lat", "lon", "accuracy"]) { document.getElementById(id).value = ""; } return; }
      navigator.geolocation.getCurrentPosition((p) => {
        document.getElementById("lat").value = p.coords.latitude.toFixed(6);
        document.getElementById("lon").value = p.coords.longitude.toFixed(6);
        document.getElementById("accuracy").value = Math.round(p.coords.accuracy);
      }, () => { loc.checked = false; showError("无法获取位置，可不附位置直接提交"); }, { timeout: 15000 });
    });
  }
  function showError(text) {
    errorBox.hidden = false; errorBox.textContent = text;
    errorBox.scrollIntoView({ block: "center" });
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = new FormData(form);
    body.delete("photos");
    photos.forEach((blob, i) => body.append("photos", blob, `photo-${i + 1}.jpg`));
    button.disabled = true;
    progress.hidden = false; progress.value = 0;
    send(body, 0);
  });
  function send(body, attempt) {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) { progress.value = Math.round(ev.loaded * 95 / ev.total); } };
    xhr.onload = () => {
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (_) { answer = null; }
      if (xhr.status >= 200 && xhr.status < 300 && answer && answer.redirect) {
        progress.value = 100;
        try { localStorage.removeItem(draftKey); } catch (_) { /* ignore */ }
        window.location.assign(answer.redirect);
        return;
      }
      if (xhr.status >= 500 && attempt < 3) { retry(body, attempt); return; }
      button.disabled = false; progress.hidden = true;
      const err = answer && answer.error;
      const fallback = xhr.status === 403 ? "页面已过期，请刷新页面后再提交（草稿已保存）"
        : xhr.status === 413 ? "照片过大，请删去几张后再提交（草稿已保存）"
        : "提交失败，请稍后再试（草稿已保存）";
      showError(err ? err.message : fallback);
      if (err && err.field) { errorBox.dataset.field = err.field; }
    };
    xhr.onerror = () => {
      if (attempt < 3) { retry(body, attempt); return; }
      button.disabled = false; progress.hidden = true;
      showError("网络中断，探访记录尚未提交。草稿已保存在本机，网络恢复后再点“提交”即可，不会重复记录。");
    };
    xhr.send(body);
  }
  function retry(body, attempt) {
    showError(`网络不稳定，正在第 ${attempt + 1} 次重试…`);
    setTimeout(() => send(body, attempt + 1), 1500 * (attempt + 1));
  }
}

// Shrinks a photo on the phone: at most 1600 px on the long side, JPEG quality 0.8.
function shrink(file) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    const url = URL.createObjectURL(file);
    img.onload = () => {
      const scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
      canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/jpeg", 0.8);
    };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error("decode")); };
    img.src = url;
  });
}

// Allowances: status filters that apply at once, picking many applications, deciding all
// of them through the API with progress, and a note while a long roll is generated.
function setUpAllowances() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const form of document.querySelectorAll("form[data-progress]")) {
    form.addEventListener("submit", () => {
      const box = document.getElementById(form.dataset.progress);
      if (box) { box.hidden = false; }
    });
  }
  const bulk = document.getElementById("bulk-form");
  if (!bulk) { return; }
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of bulk.querySelectorAll("input[name=ids]")) { box.checked = all.checked; }
    });
  }
  const button = document.getElementById("decide-all");
  if (!button) { return; }
  button.hidden = false;
  const box = document.getElementById("bulk-progress");
  const stage = document.getElementById("bulk-stage");
  const csrf = bulk.querySelector("input[name=_csrf]").value;
  const reason = () => bulk.querySelector("input[name=reason]").value || "材料齐全，同意";
  button.addEventListener("click", async () => {
    const total = Number(bulk.dataset.total);
    if (!window.confirm(`确定办理全部 ${total} 份申请？每份都会单独记录。`)) { return; }
    button.disabled = true;
    box.hidden = false;
    try {
      // Every id first (the list moves as they are decided), then the decisions in parts.
      const ids = [];
      for (let page = 1; ; page++) {
        stage.textContent = `正在读取申请… ${ids.length} / ${total}`;
        const res = await fetch(`/api/v1/allowances/applications?status=${bulk.dataset.status}&division=${bulk.dataset.division}&per_page=200&page=${page}`);
        if (!res.ok) { throw new Error(`读取失败（${res.status}）`); }
        const body = await res.json();
        ids.push(...body.items.map((i) => i.id));
        if (body.items.length < 200) { break; }
      }
      let done = 0, refused = 0;
      for (let i = 0; i < ids.length; i += 5000) {
        stage.textContent = `正在办理… ${i} / ${ids.length}`;
        const res = await fetch("/api/v1/allowances/decisions", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify({ ids: ids.slice(i, i + 5000), step: bulk.dataset.step, decision: "approve", reason: reason() }),
        });
        const body = await res.json();
        if (!res.ok) { throw new Error(body.error ? body.error.message : `办理失败（${res.status}）`); }
        done += body.done;
        refused += body.refused;
      }
      window.location.href = `/allowances?done=${done}&refused=${refused}`;
    } catch (e) {
      stage.textContent = e.message || "网络中断，请重试";
      button.disabled = false;
    }
  });
}
