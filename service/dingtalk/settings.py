"""DingTalk settings (prefix AEW_), read when the app or the Stream command is built, never at import."""
from pydantic_settings import BaseSettings, SettingsConfigDict


class DingTalkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AEW_", extra="ignore")

    # the DingTalk application (企业内部应用): robot callback signature, Stream credentials, OpenAPI token
    dingtalk_app_key: str = ""
    dingtalk_app_secret: str = ""
    # encrypted event callbacks (事件订阅 → HTTP 推送)
    dingtalk_callback_token: str = ""
    dingtalk_callback_aes_key: str = ""
    # Stream gateway and new-style API; legacy oapi base (shared with notifications)
    dingtalk_openapi_endpoint: str = "https://api.dingtalk.com"
    dingtalk_api_base: str = "https://oapi.dingtalk.com"
    # OA approval form "不良事件上报"; empty = accept approval events of any process
    dingtalk_approval_process_code: str = ""

    # behaviour (not in the list; defaults fit most hospitals)
    dingtalk_max_clock_skew_seconds: int = 3600       # robot callbacks further off than this are refused
    dingtalk_reply_timeout_seconds: float = 3.0       # synchronous reply through sessionWebhook
    dingtalk_draft_ttl_hours: float = 24.0            # a draft not completed within this is filed as 待补充
    dingtalk_reply_action_card: bool = False          # ask the category with ActionCard buttons, not a list
    dingtalk_event_path: str = "/events/{id}"         # link to an event on the web pages (after public_base_url)
    # replies go only to a sessionWebhook on one of these hosts (comma-separated; a callback naming any other
    # URL gets no reply, so a forged body cannot make the service POST into the hospital's network)
    dingtalk_webhook_hosts: str = "oapi.dingtalk.com,api.dingtalk.com"

    def webhook_allowed(self, url: str | None) -> bool:
        """Whether a sessionWebhook URL is on one of DingTalk's hosts (https, or http only for a listed host)."""
        from urllib.parse import urlsplit
        if not url:
            return False
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        hosts = {h.strip().lower() for h in self.dingtalk_webhook_hosts.split(",") if h.strip()}
        return parts.scheme in ("https", "http") and host in hosts and not parts.username and not parts.password

    @property
    def robot_enabled(self) -> bool:
        return bool(self.dingtalk_app_secret)

    @property
    def events_enabled(self) -> bool:
        return bool(self.dingtalk_callback_token and self.dingtalk_callback_aes_key and self.dingtalk_app_key)
