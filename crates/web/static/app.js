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
  // The server named a field: put the cursor there.
  const err = document.getElementById("form-error");
  if (err && err.dataset.field) {
    const name = err.dataset.field.replace(/^guardians\[(\d)\]\./, (_, i) => "g" + (Number(i) + 1) + "_")
      .replace(".", "_");
    const field = document.querySelector(`[name="${name}"]`);
    if (field) { field.focus(); message(field, err.textContent); }
  }
  const importForm = document.getElementById("import-form");
  if (importForm) { setUpImport(importForm); }
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

  function send(dryRun) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/v1/children/import?division=${encodeURIComponent(division)}&dry_run=${dryRun}`);
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
    const h = document.createElement("h2");
    const p = document.createElement("p");
    if (!body || body.error) {
      h.textContent = "无法导入";
      p.textContent = body && body.error ? body.error.message : `服务器返回 ${status}`;
      reportBox.append(h, p);
      return;
    }
    if (!dryRun && body.imported > 0) {
      h.textContent = `已导入 ${body.imported} 名儿童`;
      const a = document.createElement("a");
      a.href = `/children?division=${encodeURIComponent(division)}`;
      a.textContent = "查看台账";
      reportBox.append(h, a);
      return;
    }
    h.textContent = body.errors.length ? `发现 ${body.errors.length} 处问题` : "检查通过";
    p.textContent = `工作表“${body.sheet}”，表头在第 ${body.header_row} 行；读取 ${body.rows_read} 行，其中 ${body.rows_good} 行无误。`;
    reportBox.append(h, p);
    if (body.ignored_headers.length) {
      const note = document.createElement("p");
      note.className = "hint";
      note.textContent = `以下列未识别，已忽略：${body.ignored_headers.join("、")}`;
      reportBox.append(note);
    }
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
    } else if (body.rows_good > 0) {
      const go = document.createElement("button");
      go.type = "button";
      go.className = "primary";
      go.id = "import-commit";
      go.textContent = `确认导入 ${body.rows_good} 名儿童`;
      go.addEventListener("click", () => run(false));
      reportBox.append(go);
    }
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
    if (file) { run(true); }
  });
}
