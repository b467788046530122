"""The CI gate over Allure results (`python -m reports.gate`, issue 7); the release summary is not built yet."""
