"""The site in a real browser: headless Chromium, driven through Selenium and Debian's chromedriver.

Usage: browser_check.py BASE_URL [--user-data-dir DIR] [--report FILE] [--secure]

Registers a user through the form, logs in through the form (with "Remember Me"), posts messages full of
HTML/JS payloads, edits the profile with about-me texts full of payloads (first with an invalid username, so
the form is echoed back, then for real), visits /index, /user/<name> and /edit_profile after each step, and
logs out with the nav bar's Logout button. After every page it checks:

  * no payload ran: `window.__pwned` (which every payload would set) is undefined, and no dialog opened;
  * no payload became markup: no <script>, <iframe>, <object>, <embed>, <svg> or <style> element, no `on*`
    attribute, no `javascript:` link and no image from anywhere but the site and Gravatar;
  * the payloads show literally where they belong (the about-me on the profile page and in the editor's
    textarea, the posts in the feeds);
  * the browser console holds no Content-Security-Policy report and no error, with exactly two exceptions,
    both network errors that say nothing about the site's markup:
      - Gravatar avatars that fail to load: the browser may reach no host but 127.0.0.1 (every other name
        resolves to NOTFOUND, so it never touches the network), so each avatar logs
        "https://www.gravatar.com/avatar/<32 hex>?d=identicon&s=<n> - Failed to load resource:
        net::ERR_NAME_NOT_RESOLVED";
      - the browser's own request for /favicon.ico, which the site does not serve (nor does the tutorial):
        "<base>/favicon.ico - Failed to load resource: the server responded with a status of 404 (Not Found)".
    Any other console entry of level SEVERE, and any entry at any level from the "security" source or
    mentioning a Content Security Policy or "Refused to", fails the check.

Finally, after logout, /index must send the browser to /login (the remember-me cookie is revoked too).

With --secure (an https BASE_URL behind a proxy with a certificate made for the test run, which the browser accepts
without checking), every page also checks that every cookie the browser holds is Secure.

Before the flow, two canaries prove the checks can fail: on a page without CSP a payload does run (and sets
`window.__pwned`), and on the site's /register page an injected inline script is blocked and its CSP report
is recognised in the console log.

Selenium is handed Debian's chromedriver and chromium binaries, so selenium-manager downloads nothing.
With --report, writes JSON {"username", "about_me", "posts"}: what was finally submitted, for the caller to
compare with the database. Exits 0 when every check passes, else prints the reason and exits 1.
"""
import argparse
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import uuid
from urllib.parse import unquote, urlsplit

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, UnexpectedAlertPresentException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as error:
    sys.stderr.write(
        f"selenium is not importable by {sys.executable}: {error}. Run Tests/scripts/test-all.sh, which installs it.\n"
    )
    sys.exit(3)

# Every payload sets window.__pwned if it ever runs. Each text stays within the forms' 140 characters.
ABOUT_ME = [
    "<script>__pwned=1</script><img src=x onerror=__pwned=2>\"><svg onload=__pwned=3>'><b>{{layout.csrfToken}}</b>  é",
    "</textarea><script>__pwned=4</script></p><a href=\"javascript:void(__pwned=5)\">j</a>"
    "<style>*{color:red}</style>{{{x}}}&lt;&amp;€",
]
POSTS = [
    "</td></tr></table><script>__pwned=6</script><img src=x onerror=__pwned=7><body onload=__pwned=8>{{#posts}}",
    "</textarea><iframe srcdoc=\"<script>parent.__pwned=9</script>\"></iframe><object data=javascript:__pwned=10>",
]
LOGIN_FOR_INDEX = "/login?next=/index"
PASSWORD = "correct horse battery staple"
WAIT_SECONDS = 20
DEADLINE_SECONDS = 150

GRAVATAR_FAILURE = re.compile(
    r"https://www\.gravatar\.com/avatar/[0-9a-f]{32}\?d=identicon&s=\d+ - "
    r"Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
)


class CheckFailed(Exception):
    pass


def is_csp_report(entry):
    """A console entry about the Content-Security-Policy (Chromium's wording has changed over versions)."""
    message = entry.get("message", "").lower()
    return (
        entry.get("source") == "security"
        or "content security policy" in message
        or "content-security-policy" in message
        or "refused to" in message
    )


def fail(reason):
    raise CheckFailed(reason)


class Site:
    """The browser on the site: navigation that waits for the next page, and the checks run on each page."""

    def __init__(self, driver, base):
        self.driver = driver
        self.base = base.rstrip("/")
        self.favicon_failure = f"{self.base}/favicon.ico - Failed to load resource: the server responded with a status of 404 (Not Found)"
        self.avatar_failures = 0
        self.secure = False
        self.cookies_seen = set()

    def wait(self, condition, what):
        try:
            return WebDriverWait(self.driver, WAIT_SECONDS).until(lambda _: condition())
        except TimeoutException:
            fail(f"timed out after {WAIT_SECONDS}s waiting for {what} (at {self.driver.current_url})")

    def path(self):
        """The current path and query, the query percent-decoded (`/login?next=/index`)."""
        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{unquote(parts.query)}" if parts.query else "")

    def loaded(self):
        return self.driver.execute_script("return document.readyState") == "complete"

    def get(self, path):
        self.driver.get(self.base + path)
        self.wait(self.loaded, f"{path} to load")

    def submit(self, element, expected_path, what):
        """Clicks `element` (a submit button), waits for the next page and checks where it landed."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        element.click()
        self.wait(lambda: self.is_stale(old) and self.loaded(), f"the page after {what}")
        if self.path() != expected_path:
            fail(f"{what}: expected to land on {expected_path}, landed on {self.path()}; page text: {self.text()[:500]!r}")

    def is_stale(self, element):
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    def fill(self, field_id, value):
        field = self.driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
        typed = field.get_property("value")
        if typed != value:
            fail(f"typing into #{field_id} gave {typed!r}, not {value!r}")

    def button(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def text(self):
        return self.driver.execute_script("return document.body ? document.body.textContent : ''")

    def flashes(self):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "ul.flashes li")]

    def expect_flash(self, message):
        if message not in self.flashes():
            fail(f"expected the flash {message!r} on {self.path()}, got {self.flashes()!r}")

    # The checks run on every page.

    def check_page(self, label):
        path = self.path()
        # Images settle (load or fail) before the console is read, so their errors are in this page's log.
        self.wait(
            lambda: self.driver.execute_script("return Array.from(document.images).every(i => i.complete)"),
            f"the images of {path} to settle",
        )
        pwned = self.driver.execute_script("return typeof window.__pwned === 'undefined' ? null : String(window.__pwned)")
        if pwned is not None:
            fail(f"{label} ({path}): a payload ran: window.__pwned = {pwned}")
        markup = self.driver.execute_script(
            """
            const found = [];
            for (const tag of ["script", "iframe", "object", "embed", "svg", "style", "frame", "base", "meta[http-equiv]"]) {
                for (const e of document.querySelectorAll(tag)) found.push(e.outerHTML.slice(0, 120));
            }
            for (const e of document.querySelectorAll("*")) {
                for (const a of e.attributes) {
                    if (a.name.toLowerCase().startsWith("on")) found.push(`${e.tagName} ${a.name}=${a.value}`);
                }
            }
            for (const a of document.querySelectorAll("a[href]")) {
                if (a.href.toLowerCase().replace(/\\s/g, "").startsWith("javascript:")) found.push(a.outerHTML.slice(0, 120));
            }
            for (const i of document.images) {
                const src = i.getAttribute("src") || "";
                if (!(src.startsWith("https://www.gravatar.com/avatar/") || (src.startsWith("/") && !src.startsWith("//"))))
                    found.push(i.outerHTML.slice(0, 120));
            }
            return found;
            """
        )
        if markup:
            fail(f"{label} ({path}): a payload became markup: {markup!r}")
        self.check_console(f"{label} ({path})")
        if self.secure:
            plain = [cookie["name"] for cookie in self.driver.get_cookies() if not cookie.get("secure")]
            if plain:
                fail(f"{label} ({path}): cookies without Secure on an https site: {plain!r}")
            self.cookies_seen.update(cookie["name"] for cookie in self.driver.get_cookies())

    def check_console(self, label):
        problems = []
        for entry in self.driver.get_log("browser"):
            message = entry.get("message", "")
            level = entry.get("level", "")
            if is_csp_report(entry):
                problems.append(f"CSP: {level} {message}")
            elif level == "SEVERE":
                if entry.get("source") == "network" and GRAVATAR_FAILURE.fullmatch(message):
                    self.avatar_failures += 1
                elif entry.get("source") == "network" and message == self.favicon_failure:
                    pass
                else:
                    problems.append(f"{level} ({entry.get('source')}): {message}")
        if problems:
            fail(f"{label}: the browser console reports:\n  " + "\n  ".join(problems))

    def check_no_dialog(self, label):
        try:
            alert = self.driver.switch_to.alert
            text = alert.text
            alert.dismiss()
            fail(f"{label}: a dialog opened: {text!r}")
        except CheckFailed:
            raise
        except WebDriverException:
            pass

    def js(self, script, *arguments):
        return self.driver.execute_script(script, *arguments)


def canaries(site):
    """Proves the checks can fail: payloads do run without escaping and CSP, and a CSP report is recognised."""
    site.driver.get("data:text/html,<!doctype html><title>canary</title><p>canary</p>")
    site.js("document.body.insertAdjacentHTML('beforeend', arguments[0])", "<img src=x onerror=__pwned=2>")
    site.wait(lambda: site.js("return window.__pwned") == 2, "the unescaped canary payload to run")
    site.driver.get_log("browser")  # its failed image load is not the site's

    site.get("/register")
    site.js("const s = document.createElement('script'); s.textContent = 'window.__pwned = 99'; document.body.appendChild(s)")
    if site.js("return typeof window.__pwned") != "undefined":
        fail("canary: an inline script injected into /register ran: the Content-Security-Policy is not enforced")
    entries = []

    def report_seen():
        entries.extend(site.driver.get_log("browser"))
        return any(is_csp_report(entry) and "script-src" in entry.get("message", "") for entry in entries)

    site.wait(report_seen, "the console's CSP report of an inline script injected into /register (canary)")


def flow(site, username):
    """Register, log in, post, edit the profile, log out; every page checked."""
    email = f"{username}@example.com"

    site.get("/register")
    site.check_page("register form")
    site.fill("username", username)
    site.fill("email", email)
    site.fill("password", PASSWORD)
    site.fill("password2", PASSWORD)
    site.submit(site.button("input[type=submit]"), "/login", "registering")
    site.expect_flash("Congratulations, you are now a registered user!")
    site.check_page("login form after registration")

    site.fill("username", username)
    site.fill("password", PASSWORD)
    site.driver.find_element(By.ID, "remember_me").click()
    site.submit(site.button("input[type=submit]"), "/index", "logging in")
    site.check_page("home after login")
    if not site.driver.get_cookie("remember_token"):
        fail("logging in with Remember Me set no remember_token cookie")

    for body in POSTS:
        site.fill("post", body)
        site.submit(site.button("main input[type=submit]"), "/index", "posting")
        site.expect_flash("Your post is now live!")
        check_feed(site, username, "home after posting", POSTS[: POSTS.index(body) + 1])

    # To the editor the way a person goes: nav "Profile", then "Edit your profile".
    site.submit(site.driver.find_element(By.LINK_TEXT, "Profile"), f"/user/{username}", "the Profile link")
    site.check_page("own profile")
    site.submit(site.driver.find_element(By.LINK_TEXT, "Edit your profile"), "/edit_profile", "the Edit link")
    site.check_page("profile editor")

    for about_me in ABOUT_ME:
        # An invalid username: the form comes back with the about-me echoed into the textarea.
        site.fill("username", f"{username} !")
        site.fill("about_me", about_me)
        site.submit(site.button("main input[type=submit]"), "/edit_profile", "submitting an invalid username")
        if "Usernames may contain only letters, digits, '_', '-' and '.'." not in site.text():
            fail(f"the editor did not reject the username {username + ' !'!r}: {site.text()[:500]!r}")
        check_editor(site, f"{username} !", about_me, "editor echoing a rejected form")

        site.fill("username", username)
        site.fill("about_me", about_me)
        site.submit(site.button("main input[type=submit]"), "/edit_profile", "saving the profile")
        site.expect_flash("Your changes have been saved.")
        check_editor(site, username, about_me, "editor after saving")

        site.get(f"/user/{username}")
        check_profile(site, username, about_me)
        site.get("/index")
        check_feed(site, username, "home after editing the profile", POSTS)
        site.get("/edit_profile")
        check_editor(site, username, about_me, "editor reopened")

    site.get("/index")
    # Logout answers /index, which sends the now anonymous browser on to /login.
    site.submit(site.driver.find_element(By.CSS_SELECTOR, "nav form button[type=submit]"), LOGIN_FOR_INDEX, "logging out")
    site.check_page("login form after logout")
    if site.driver.get_cookie("remember_token"):
        fail("the remember_token cookie survived logout")
    site.get("/index")
    if site.path() != LOGIN_FOR_INDEX:
        fail(f"after logout /index should redirect to {LOGIN_FOR_INDEX}, landed on {site.path()}")
    site.check_page("/index after logout")
    site.check_no_dialog("end")
    if site.avatar_failures == 0:
        fail("no Gravatar image was attempted: the avatars (and so the console filter) were not exercised")


def check_feed(site, username, label, posts):
    site.check_page(label)
    cells = site.js("return Array.from(document.querySelectorAll('table.post td:nth-child(2)')).map(td => td.textContent)")
    for body in posts:
        if f"{username} says:{body}" not in cells:
            fail(f"{label}: the post {body!r} does not show literally; the posts read {cells!r}")


def check_profile(site, username, about_me):
    site.check_page("profile page")
    heading = site.js("const h = document.querySelector('main h1'); return h ? h.textContent : null")
    if heading != f"User: {username}":
        fail(f"profile page: heading {heading!r}")
    shown = site.js("const p = document.querySelector('main h1').nextElementSibling; return p ? p.textContent : null")
    if shown != about_me:
        fail(f"profile page: the about-me shows as {shown!r}, not literally as {about_me!r}")
    cells = site.js("return Array.from(document.querySelectorAll('table.post td:nth-child(2)')).map(td => td.textContent)")
    for body in POSTS:
        if f"{username} says:{body}" not in cells:
            fail(f"profile page: the post {body!r} does not show literally; the posts read {cells!r}")


def check_editor(site, username, about_me, label):
    site.check_page(label)
    values = site.js(
        "return [document.getElementById('username').value, document.getElementById('about_me').value,"
        " document.querySelectorAll('textarea').length]"
    )
    if values != [username, about_me, 1]:
        fail(f"{label}: the form holds {values!r}, expected [{username!r}, {about_me!r}, 1 textarea]")


def make_driver(user_data_dir, secure):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        sys.stderr.write(
            "chromium and chromedriver must be on the PATH (Debian: apt-get install chromium chromium-driver; "
            "Tests/scripts/test-all.sh installs them)\n"
        )
        sys.exit(3)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in [
        "--headless=new",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={user_data_dir}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # No network: every name but the site's address resolves to nothing (Gravatar included).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ]:
        options.add_argument(argument)
    options.accept_insecure_certs = secure
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.unhandled_prompt_behavior = "ignore"  # a payload's dialog stays open for check_no_dialog to see
    os.environ["SE_OFFLINE"] = "true"
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    return driver


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--user-data-dir", help="Chromium's profile folder (default: a fresh temporary one)")
    parser.add_argument("--report", help="write what was submitted, as JSON, to this file")
    parser.add_argument("--secure", action="store_true", help="an https site: every cookie must be Secure")
    args = parser.parse_args()

    def deadline(signum, frame):
        raise CheckFailed(f"the whole check took longer than {DEADLINE_SECONDS}s")

    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(DEADLINE_SECONDS)

    own_profile = args.user_data_dir is None
    user_data_dir = tempfile.mkdtemp(prefix="microblog-chromium-") if own_profile else args.user_data_dir
    os.makedirs(user_data_dir, exist_ok=True)
    username = "browser_" + uuid.uuid4().hex[:8]
    driver = None
    try:
        driver = make_driver(user_data_dir, args.secure)
        site = Site(driver, args.base_url)
        site.secure = args.secure
        canaries(site)
        flow(site, username)
        if args.secure and not {"session", "remember_token"} <= site.cookies_seen:
            fail(f"the Secure check saw only the cookies {sorted(site.cookies_seen)!r}: no session or remember-me cookie")
        print(f"OK: {username} registered, logged in, posted {len(POSTS)} payload posts, saved {len(ABOUT_ME)} payload about-me texts, "
              f"logged out; no payload ran, no CSP report; {site.avatar_failures} offline Gravatar loads ignored")
        if args.report:
            with open(args.report, "w", encoding="utf-8") as handle:
                json.dump({"username": username, "about_me": ABOUT_ME[-1], "posts": POSTS}, handle, ensure_ascii=False)
        return 0
    except CheckFailed as error:
        print(f"FAILED: {error}")
        return 1
    except UnexpectedAlertPresentException as error:
        print(f"FAILED: a dialog opened: {error.alert_text!r}")
        return 1
    except WebDriverException as error:
        print(f"FAILED: the browser: {error}")
        return 1
    finally:
        signal.alarm(0)
        if driver is not None:
            driver.quit()
        if own_profile:
            shutil.rmtree(user_data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
