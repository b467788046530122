"""The CI gate over Allure results and the release summary (issue 7; not built yet)."""
