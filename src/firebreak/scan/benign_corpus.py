"""More benign training text for the injection classifier (training only, never shipped).

The `train` split's benign rows are mostly short questions and math problems, while attacks
are often long, second-person, imperative and full of role words. A model trained on that
learns "long, imperative, talks to the model = attack" and flags the benign instructions,
role-play requests, system-prompt-like texts and long documents that users really send.
This module adds such texts, from two places that need no download:

- templates: benign personas and role-play, system-prompt-like setup messages, benign
  uses of words attackers like ("ignore case", "kill a process", "override a method"),
  multi-paragraph e-mails and requests;
- prose from the docstrings of the Python standard library that runs the training
  (long, technical, imperative-heavy text: "Return the ...", "Do not call ...").

Everything is seeded, so a training run is reproducible on a given Python version.
"""

from __future__ import annotations

import ast
import random
import sysconfig
from pathlib import Path
from typing import Any

_ROLES = ["travel agent", "math tutor", "chef", "fitness coach", "career counsellor",
          "museum guide", "customer-support agent for a bike shop", "Socratic teacher",
          "job interviewer", "debate partner", "poet", "medieval historian", "park ranger",
          "librarian", "senior Python reviewer", "friendly pirate", "detective in a cosy novel",
          "Shakespearean actor", "sports commentator", "Linux terminal", "English teacher",
          "product manager", "dungeon master for a fantasy game", "nutritionist"]
_TASKS = ["explain {t} in three sentences", "ask me five questions about {t}",
          "give feedback on my plan for {t}", "tell a short story involving {t}",
          "quiz me on {t} and keep score", "help me prepare a talk on {t}",
          "describe {t} to a ten-year-old", "stay in character while we discuss {t}",
          "answer only in rhymes about {t}", "list common mistakes people make with {t}"]
_TOPICS = ["photosynthesis", "the Roman empire", "sourdough bread", "compound interest",
           "marathon training", "the water cycle", "rust ownership rules", "jazz harmony",
           "tax deductions for freelancers", "black holes", "git rebase", "chess openings",
           "the French subjunctive", "home composting", "password hygiene",
           "how language models work", "writing a good system prompt", "container networking",
           "negotiating a salary", "bird migration", "the rules of cricket", "origami cranes"]
_SETUP = ["You are a helpful assistant for {c}. Answer questions about {t} politely and "
          "briefly, and say when you do not know.",
          "You are {r}. Keep your answers under 100 words and use plain language.",
          "From now on, please answer in Spanish so I can practise; the topic is {t}.",
          "For the rest of this chat, act as {r} and help me with {t}.",
          "Please respond only with valid JSON containing the keys 'summary' and 'tags' "
          "for the following note about {t}.",
          "Ignore the formatting of the text below and just fix the spelling mistakes: "
          "{t} is a topic I love but I allways mispel it.",
          "Forget about the budget for a moment: what would the ideal plan for {t} be?",
          "Imagine you are {r}. How would you introduce {t} to a new colleague?",
          "Let's play a game: you are {r} and I am a visitor asking about {t}.",
          "Write a system prompt for a chatbot that teaches {t} to beginners.",
          "What does the instruction 'ignore previous lines' mean in an awk script about {t}?",
          "Our style guide says: never use passive voice, always cite sources. Rewrite this "
          "paragraph about {t} to follow those rules."]
_COMPANIES = ["Acme Bank", "Northwind Traders", "a small dental clinic", "the city library",
              "Contoso Airlines", "a university IT helpdesk", "an online plant shop"]
_HARD = ["How do I kill a Python process that hangs?", "How do I ignore case in a regex?",
         "How can I override a method in a Java subclass?", "What is the best way to shoot "
         "a portrait in low light?", "How do I bypass the cache in Chrome when reloading?",
         "How do I execute a shell script on startup?", "What's the fastest way to destroy "
         "old hard drives securely?", "How do I disable the developer mode on my TV?",
         "How do I reset the admin password of my own router?", "Where can I buy a can of "
         "coke?", "How do I blow up a balloon without a pump?", "How do I forget a Wi-Fi "
         "network on a Mac?", "How do I jailbreak-proof my company's iPhones with MDM?",
         "Can you explain what a system prompt is?", "Why do chatbots refuse some requests?",
         "How do I strangle a fig tree's roots safely when repotting?", "How do I crack an "
         "egg with one hand?", "What are the rules for overriding a veto in Congress?",
         "How do I skip the intro on Netflix?", "How do I disregard outliers in a boxplot?",
         "How do I hijack the back button in a single-page app, and should I?",
         "How do hackers in movies get into systems, and how realistic is it?",
         "What's a good password manager for a family?", "How do I print the prompt string "
         "in bash?", "How do I tell the user their session expired in React?"]
_GREET = ["Hi {n},", "Dear {n},", "Hello team,", "Hey {n}!", "Good morning {n},"]
_BODY = ["Thanks for sending the draft of {t}; I read it on the train and left comments.",
         "Could you please review the attached notes on {t} before Thursday's meeting?",
         "Just a reminder that the workshop on {t} moves to room 4B next week.",
         "I have updated the spreadsheet with the latest numbers for {t}.",
         "Please ignore my previous email, the date was wrong: it is the 14th, not the 12th.",
         "Let me know if you need anything else from me about {t}.",
         "We decided to postpone the launch; the new plan for {t} is in the shared folder.",
         "Attached is the invoice for March. Payment is due within 30 days.",
         "Can you forward this to whoever handles {t} on your side?",
         "Our password reset policy changed: new passwords need 12 characters."]
_SIGN = ["Best,\n{n}", "Thanks,\n{n}", "Cheers, {n}", "Kind regards,\n{n}\nOperations"]
_NAMES = ["Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro", "Ines", "Jonas"]


def templated(rng: random.Random, limit: int) -> list[str]:
    """Benign personas, setup messages, hard negatives and e-mails from the lists above."""
    out: set[str] = set(_HARD)
    while len(out) < limit:
        t, r, c, n = (rng.choice(_TOPICS), rng.choice(_ROLES), rng.choice(_COMPANIES),
                      rng.choice(_NAMES))
        pick = rng.random()
        if pick < 0.3:
            task = rng.choice(_TASKS).format(t=t)
            out.add(rng.choice([f"Act as a {r} and {task}.", f"You are a {r}. Please {task}.",
                                f"Pretend you're a {r} and {task}.",
                                f"I want you to play a {r}. {task.capitalize()}."]))
        elif pick < 0.6:
            out.add(rng.choice(_SETUP).format(t=t, r=f"a {r}", c=c))
        else:
            body = " ".join(b.format(t=t) for b in rng.sample(_BODY, rng.randint(2, 5)))
            out.add(f"{rng.choice(_GREET).format(n=n)}\n\n{body}\n\n"
                    f"{rng.choice(_SIGN).format(n=rng.choice(_NAMES))}")
    return sorted(out)


def stdlib_prose(rng: random.Random, limit: int, min_chars: int = 300) -> list[str]:
    """Long docstrings of the standard library's top-level modules, classes and functions."""
    root = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    for path in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= min_chars:
                    docs.append(doc[:4000])
    return rng.sample(docs, min(limit, len(docs)))


def benign_rows(templates: int = 600, prose: int = 400,
                seed: int = 20261125) -> list[dict[str, Any]]:
    """The extra benign rows, labelled as the data set labels them."""
    rng = random.Random(seed)
    texts = templated(rng, templates) + stdlib_prose(rng, prose)
    return [{"text": t, "label": 0, "source": "synthetic/benign-extra", "kind": "benign"}
            for t in texts]
