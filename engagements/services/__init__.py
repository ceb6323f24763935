"""Operations that change the engagements app's data, one module per aggregate:
cycles, clients (with engagements and engagement types), staffing, plans (goals, key
activities, check-ins), templates, roles and competencies.

Keyword-only, one use case per function, transactional, history recorded by
django-simple-history (the acting user comes from the request, or ``_history_user``).
Domain errors are ``DomainError`` with messages fit for the user.
"""
