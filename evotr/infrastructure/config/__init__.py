"""Loading configs/evotr.yaml and configs/intents.yaml into validated ``Settings``.

Every problem becomes one ``ConfigError`` line naming the file, the line and the dotted key.
"""
