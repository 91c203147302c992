"""Actions: effects on the world (contain, notify, collect) that playbook steps call.

`base` holds the contract; each built-in is a module here registered under the entry-point
group `firebreak.actions`, exactly as a user's package would register one.
"""
