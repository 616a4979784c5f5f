"""Write blog_stream.csv: a synthetic stream of comments under technical tutorials.

Hand-written for Causerie's spam filter tests (not derived from any corpus):
genuine questions, corrections and thanks under five tutorials, and the three
kinds of spam a technical blog gets (tech-support scams with phone numbers,
SEO backlinks, "nice post, visit my site").  A fixed seed mixes them, so the
file is the same on every run: ``python tests/data/spam/make_blog_stream.py``.
"""

import csv
import random
from pathlib import Path

PAGES = {
    "regex": ("Regular expressions in Python: a practical tutorial", "https://blog.example/python-regex-tutorial",
              ["regex", "pattern", "re.sub", "lookahead", "capture group", "re.findall", "greedy match",
               "raw string", "re.compile", "named group"]),
    "docker": ("Docker Compose for local development", "https://blog.example/docker-compose-local-dev",
               ["compose file", "volume", "healthcheck", "depends_on", "container", "the postgres service",
                "docker compose up", "bind mount", "the network", "environment variables"]),
    "asyncio": ("Understanding asyncio: tasks, events loops and cancellation", "https://blog.example/asyncio-tasks",
                ["asyncio.gather", "the event loop", "task cancellation", "await", "asyncio.run", "a coroutine",
                 "TaskGroup", "asyncio.sleep", "the semaphore", "timeouts"]),
    "git": ("Git rebase without fear", "https://blog.example/git-rebase",
            ["interactive rebase", "git reflog", "the merge conflict", "squash", "force push", "rebase --onto",
             "the feature branch", "fixup commits", "git bisect", "the upstream branch"]),
    "css": ("CSS grid layouts, step by step", "https://blog.example/css-grid-layouts",
            ["grid-template-columns", "minmax", "the fr unit", "grid-area", "auto-fit", "subgrid", "gap",
             "the media query", "flexbox", "grid-auto-rows"]),
}

GENUINE = [
    "Thanks, the part about {a} finally made it click for me.",
    "I think there is a typo in the {a} example: the closing bracket is missing.",
    "How would you combine {a} with {b}? I tried and got an error.",
    "Great write-up. One question: does {a} behave the same on Windows?",
    "Small correction: {a} was changed in the latest release, see the changelog.",
    "I used {a} at work yesterday after reading this, saved me an hour.",
    "Could you add a section on {b}? It is the part I always get wrong.",
    "Why do you prefer {a} over {b} here? Is it just style?",
    "This is the clearest explanation of {a} I have read, merci !",
    "In my case {a} only worked after I also changed {b}.",
    "Is there a way to test {a} without touching the real setup?",
    "Nitpick: the second snippet uses {b} before it is introduced.",
    "I had the same problem with {a}, upgrading fixed it.",
    "Does anyone know if {a} works with {b} in older versions?",
    "Thank you! Bookmarked for the next time I need {a}.",
    "The diagram of {a} helped a lot, more of those please.",
    "I disagree a little: {a} can hide bugs, I would start with {b}.",
    "Very useful. For what it's worth, {a} also needs {b} on my machine.",
    "Quick question about {a}: what happens when it fails halfway?",
    "Followed every step, {a} works now. Thanks for taking the time.",
    "lol I spent two days on {a} before finding this",
    "Super article. Petite question : est-ce que {a} marche avec {b} ?",
    "Is the code for {a} on GitHub somewhere?",
    "What about performance? Is {a} slow with big inputs?",
    "Thanks, {a} was exactly what I was missing.",
    "Merci beaucoup, je ne connaissais pas {a} !",
    "Your example of {a} has an off-by-one, the last item is skipped.",
    "Can you explain the difference between {a} and {b} in a follow-up?",
]

NAMES = ["Marie Dupont", "Tom", "jkowalski", "Aisha Khan", "Pierre L.", "devnull", "Sam Lee", "Ingrid", "R. Patel",
         "Lucas", "Chen Wei", "Oksana", "mattb", "Fatima Z.", "Jonas", "Emily Carter", "K. Nakamura", "Ben",
         "Sofia R.", "hugo_dev", "Noah", "Léa Martin", "Diego", "Anna", "Yusuf", "Claire", "Mohammed A.", "Paul"]
OWN_SITES = [None] * 9 + ["https://mariedupont.dev", "https://github.com/jkowalski", "https://lucas.blog"]

SCAMS = [
    ("Printer Support Number", "Having trouble with your printer offline error? Call our printer support number "
     "+1-888-555-0147 now, 24/7 experts fix HP Canon Epson printers in minutes."),
    ("Quickbooks Support Phone", "QuickBooks error 6000? Dial QuickBooks support phone number 1 (877) 555 0199 for "
     "instant help from certified experts, available round the clock."),
    ("Outlook Help Desk", "Cannot log in to Outlook email? Our Outlook help desk solves password and sync problems. "
     "Call toll free 1-866-555-0123 or write to outlookfix.helpdesk@gmail.com"),
    ("Norton Antivirus Support", "Norton setup not working? Contact Norton antivirus customer service "
     "+1 855 555 0110, we remove viruses and renew your subscription today."),
    ("Cash App Customer Service", "Cash App payment failed? Call Cash App customer service number 1-844-555-0175, "
     "refund guaranteed, safe and fast support."),
    ("Alexa Setup Help", "Echo dot not connecting to wifi? Alexa setup help line 1 833 555 0188 is open now, "
     "our technicians will configure your device remotely."),
    ("Roadrunner Email Support", "Roadrunner email not working on iPhone? Call our toll free helpline "
     "+1-888-555-0166 and get your mail back immediately."),
]
SEO = [
    ("Best Dentist Miami", "https://best-dentist-miami.example.com",
     "Very informative content. We offer cosmetic dentistry and teeth whitening at "
     "<a href=\"https://best-dentist-miami.example.com\">best dentist in Miami</a>."),
    ("Cheap Essay Writing", "https://essaywriters.example.net",
     "Students who need help can buy essays online cheap at https://essaywriters.example.net, plagiarism free."),
    ("Packers and Movers Delhi", "https://packersmovers.example.in",
     "Thanks for sharing. Looking for reliable packers and movers in Delhi? Visit packersmovers.example.in for "
     "affordable home shifting."),
    ("Buy Instagram Followers", "https://growfollowers.example.com",
     "Grow your brand fast: buy real Instagram followers and likes at https://growfollowers.example.com today."),
    ("Web Design Company", "https://topwebdesign.example.co.uk",
     "Professional web design and SEO services for small business. See our portfolio at "
     "https://topwebdesign.example.co.uk"),
]
PRAISE = [
    "Nice post, thanks for sharing such useful information. Keep it up!",
    "Great article, really helpful. I will bookmark your blog and visit again.",
    "Wow, amazing blog. Very informative and well written, thanks a lot for sharing.",
    "I really enjoyed reading this post, it is very informative. Keep sharing more posts like this.",
    "Thanks for this wonderful article, it was very helpful for me. Visit my site too!",
    "Awesome post! Such a nice blog, I learned many new things. Please keep posting.",
]
PRAISE_NAMES = ["Digital Marketing Course", "Rahul", "SEO Agency", "Online Casino", "Jessica", "CBD Oil Store"]
PRAISE_SITES = ["https://digitalcourse.example.in", "https://rahulblogs.example.com", "https://seo-agency.example.net",
                "https://casino-bonus.example.com", "https://jess-fashion.example.com", "https://cbdstore.example.us"]


def stream(seed=7):
    rng = random.Random(seed)
    rows = []
    for title, url, topics in PAGES.values():
        for _ in range(24):
            a, b = rng.sample(topics, 2)
            rows.append(("ham", rng.choice(GENUINE).format(a=a, b=b), rng.choice(NAMES), rng.choice(OWN_SITES),
                         url, title))
    pages = list(PAGES.values())
    for _ in range(12):
        name, text = rng.choice(SCAMS)
        title, url, _ = rng.choice(pages)
        rows.append(("spam", text, name, None, url, title))
    for _ in range(8):
        name, site, text = rng.choice(SEO)
        title, url, _ = rng.choice(pages)
        rows.append(("spam", text, name, site, url, title))
    for _ in range(10):
        index = rng.randrange(len(PRAISE_NAMES))
        title, url, _ = rng.choice(pages)
        rows.append(("spam", rng.choice(PRAISE), PRAISE_NAMES[index], PRAISE_SITES[index], url, title))
    rng.shuffle(rows)
    return rows


if __name__ == "__main__":
    with open(Path(__file__).with_name("blog_stream.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["label", "text", "author", "website", "url", "title"])
        for label, text, author, website, url, title in stream():
            writer.writerow([1 if label == "spam" else 0, text, author, website or "", url, title])
