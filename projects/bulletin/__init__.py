"""The monthly bulletin (调度通报, issue 28): a Word document per scope and month, generated, kept and mailed."""
