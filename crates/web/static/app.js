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
  // A form is sent once: a second tap on a slow connection must not submit it again.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      for (const b of form.querySelectorAll("button[type=submit]")) {
        setTimeout(() => { b.disabled = true; }, 0);
      }
    });
  }
});
