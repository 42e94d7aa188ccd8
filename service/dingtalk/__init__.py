"""DingTalk: the report chatbot (HTTP callback and Stream), encrypted event callbacks, approval forms, identities."""
