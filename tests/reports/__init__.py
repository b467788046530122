"""The CI gate over Allure results (reports.gate)."""
