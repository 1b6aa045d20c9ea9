"""Fault injection: processes killed, services restarted, disks full, databases away."""
