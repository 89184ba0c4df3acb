"""Telling people about findings: which findings are due on which channel (decide, pure), what each channel sends
(SNS mail, EventBridge events, Security Hub ASFF), and the run that sends them and marks each finding's
`notified.<channel>` once its channel accepted it (run)."""
