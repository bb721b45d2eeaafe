"""The domain core: the rules the province works by, with no model and nothing of the rooms above.

- choices.py: the fixed vocabularies (stages, statuses, lights, roles, mail kinds …);
- rules.py: time progress, completion, report deadlines, the traffic light and late nodes;
- workdays.py: China's working-day calendar (法定节假日, 调休) with the province's overrides;
- access.py: who sees and may change what (the one visibility rule and the role permissions);
- figures.py: the one rule for every amount, and the checks' warnings;
- names.py: English names of divisions; template.py: the provincial list template's columns."""
