"""Demo data: a default 1–5 scale for every demo organisation and, for acme, a
consulting competency library with descriptors for every point, and competency sets
for job titles and for engagement types. Idempotent: rows are found by name."""

from __future__ import annotations

from decimal import Decimal

from competencies.enums import DefaultCategory
from competencies.models import (
    Competency,
    CompetencyCategory,
    CompetencyDescriptor,
    CompetencySet,
    CompetencySetItem,
    CompetencySetJobTitle,
    RatingLevel,
    RatingScale,
)
from competencies.services.library import ensure_default_categories
from organizations.models import JobTitle, Organization

SCALE_NAME = "Standard 1–5"
SCALE_LEVELS = [
    (
        1,
        "Below expectations",
        "Falls clearly short of what the role needs; needs close support and a plan to improve.",
    ),
    (
        2,
        "Partly meets",
        "Meets some of what the role needs; results or behaviours are inconsistent.",
    ),
    (
        3,
        "Meets expectations",
        "Does what the role needs, reliably and to a good standard.",
    ),
    (
        4,
        "Exceeds",
        "Often goes beyond what the role needs; others notice and benefit.",
    ),
    (
        5,
        "Outstanding",
        "A model for others; shapes how the firm works in this area.",
    ),
]

T, B, C, L = (
    DefaultCategory.TECHNICAL.value,
    DefaultCategory.BEHAVIOURAL.value,
    DefaultCategory.CLIENT_FACING.value,
    DefaultCategory.LEADERSHIP.value,
)

# (name, category, description, descriptors for points 1 to 5)
LIBRARY: list[tuple[str, str, str, tuple[str, str, str, str, str]]] = [
    (
        "Problem structuring",
        T,
        "Breaks ambiguous client problems into clear, testable questions.",
        (
            "Jumps to solutions; analysis wanders without a clear question.",
            "Structures simple problems when given a framework to follow.",
            "Builds a sound issue tree for most problems and keeps work focused on it.",
            "Structures complex, ambiguous problems quickly; others reuse the structure.",
            "Reframes the client's problem in a way that changes the engagement's direction.",
        ),
    ),
    (
        "Data analysis",
        T,
        "Turns data into reliable evidence for decisions.",
        (
            "Analyses contain errors that others must find and fix.",
            "Runs standard analyses correctly with guidance on method.",
            "Chooses fitting methods, checks the data and draws sound conclusions.",
            "Handles messy, large data sets and explains uncertainty plainly.",
            "Sets the analytical standard on engagements; coaches others on method.",
        ),
    ),
    (
        "Solution design",
        T,
        "Designs solutions that solve the client's problem and can be delivered.",
        (
            "Designs miss key requirements or cannot be built as proposed.",
            "Designs work for the main case but overlook constraints.",
            "Designs meet the requirements, respect constraints and are documented.",
            "Weighs options explicitly and designs for change and scale.",
            "Creates designs that become reference architectures across clients.",
        ),
    ),
    (
        "Quality of deliverables",
        T,
        "Delivers accurate, well-presented work that needs little rework.",
        (
            "Work regularly needs substantial rework before it can go to the client.",
            "Work is mostly right but needs careful review for gaps and errors.",
            "Work is accurate, complete and clear; reviews find only minor points.",
            "Work is client-ready first time and anticipates the reader's questions.",
            "Work is used as an exemplar; raises the quality bar of the whole team.",
        ),
    ),
    (
        "Ownership and reliability",
        B,
        "Takes responsibility for commitments and sees them through.",
        (
            "Misses commitments without warning; others must chase.",
            "Meets most commitments but flags problems late.",
            "Delivers what was promised, on time, and raises risks early.",
            "Takes on unowned problems and resolves them without being asked.",
            "Others rely on them for the hardest commitments; never drops a ball.",
        ),
    ),
    (
        "Collaboration",
        B,
        "Works well with colleagues across teams, levels and locations.",
        (
            "Works alone; withholds information or causes friction.",
            "Cooperates when asked but rarely offers help.",
            "Shares knowledge, helps teammates and resolves disagreements constructively.",
            "Builds bridges between teams and makes joint work easier for everyone.",
            "Creates a collaborative culture that outlasts their engagements.",
        ),
    ),
    (
        "Learning agility",
        B,
        "Learns new domains, tools and methods quickly and applies them.",
        (
            "Avoids unfamiliar work; repeats the same mistakes.",
            "Learns new things when taught, slowly applying them.",
            "Picks up new domains at the pace the engagement needs and acts on feedback.",
            "Seeks out stretch work and becomes productive in new areas quickly.",
            "Learns ahead of the firm and turns it into guidance for others.",
        ),
    ),
    (
        "Resilience",
        B,
        "Stays effective under pressure, change and setbacks.",
        (
            "Pressure visibly lowers the quality of work and relationships.",
            "Copes with normal pressure but struggles when plans change.",
            "Stays calm and effective through deadlines and changing priorities.",
            "Steadies others in difficult moments and keeps the team focused.",
            "Turns crises into learning for the team and the client.",
        ),
    ),
    (
        "Client communication",
        C,
        "Communicates clearly and confidently with clients, in writing and in person.",
        (
            "Messages to clients are unclear or need rewriting by others.",
            "Communicates clearly on routine topics with preparation and support.",
            "Presents findings clearly, adapts to the audience and handles questions well.",
            "Handles difficult conversations and senior audiences with confidence.",
            "Clients seek out their view; shapes the client's internal narrative.",
        ),
    ),
    (
        "Stakeholder management",
        C,
        "Understands and manages the interests of client stakeholders.",
        (
            "Unaware of who matters on the client side; surprises stakeholders.",
            "Knows the main stakeholders but engages them only when prompted.",
            "Maps stakeholders, keeps them informed and manages their expectations.",
            "Aligns stakeholders with conflicting interests behind a common plan.",
            "Trusted across the client's leadership; resolves political deadlocks.",
        ),
    ),
    (
        "Business development",
        C,
        "Spots and develops opportunities to help clients further.",
        (
            "Does not notice follow-on needs even when clients mention them.",
            "Passes on opportunities others point out.",
            "Spots follow-on needs and contributes to proposals.",
            "Shapes and wins new work with existing clients.",
            "Opens new clients or service lines for the firm.",
        ),
    ),
    (
        "Client focus",
        C,
        "Understands what the client values and acts in their interest.",
        (
            "Focuses on tasks without understanding the client's goals.",
            "Understands the client's goals when explained but rarely acts on them.",
            "Keeps the client's goals in view and checks work against them.",
            "Anticipates client needs and proposes improvements unasked.",
            "Regarded by clients as a trusted adviser on their business.",
        ),
    ),
    (
        "Coaching and developing others",
        L,
        "Helps colleagues grow through feedback, delegation and example.",
        (
            "Gives no feedback; keeps work that others could learn from.",
            "Gives feedback when asked; delegates only routine tasks.",
            "Gives timely, specific feedback and delegates work that stretches others.",
            "Others grow noticeably faster when working with them.",
            "Builds future leaders; known across the firm as a coach.",
        ),
    ),
    (
        "Engagement leadership",
        L,
        "Plans, runs and steers engagements to the agreed outcome.",
        (
            "Work is unplanned; scope, time and budget drift without notice.",
            "Plans the work but reacts late to deviations.",
            "Runs the engagement to plan, manages scope and reports status honestly.",
            "Steers complex engagements through change while keeping client trust.",
            "Turns troubled engagements around; sets the delivery standard for the firm.",
        ),
    ),
    (
        "Decision making",
        L,
        "Makes timely, well-reasoned decisions and owns their consequences.",
        (
            "Avoids decisions or makes them without considering evidence.",
            "Decides routine matters; escalates anything uncertain.",
            "Makes sound decisions on time with the information available.",
            "Makes hard trade-offs transparently and brings others along.",
            "Known for judgement on the firm's most consequential decisions.",
        ),
    ),
]

# (set name, description, job titles, [(competency, weight, expected level)])
SETS: list[tuple[str, str, tuple[str, ...], list[tuple[str, int, int]]]] = [
    (
        "Consultant",
        "What we expect of analysts and consultants.",
        ("Consultant", "Analyst"),
        [
            ("Problem structuring", 2, 3),
            ("Data analysis", 2, 3),
            ("Quality of deliverables", 2, 3),
            ("Ownership and reliability", 1, 3),
            ("Collaboration", 1, 3),
            ("Learning agility", 1, 3),
            ("Client communication", 1, 2),
        ],
    ),
    (
        "Senior Consultant",
        "What we expect of senior consultants.",
        ("Senior Consultant",),
        [
            ("Problem structuring", 2, 4),
            ("Solution design", 2, 3),
            ("Quality of deliverables", 1, 4),
            ("Client communication", 2, 3),
            ("Stakeholder management", 1, 3),
            ("Coaching and developing others", 1, 3),
            ("Ownership and reliability", 1, 4),
        ],
    ),
    (
        "Engagement Manager",
        "What we expect of engagement managers and directors.",
        ("Engagement Manager", "Managing Director"),
        [
            ("Engagement leadership", 3, 4),
            ("Stakeholder management", 2, 4),
            ("Business development", 2, 3),
            ("Coaching and developing others", 2, 4),
            ("Decision making", 2, 4),
            ("Client focus", 1, 4),
        ],
    ),
    (
        "Client delivery",
        "Engagement-specific competencies for work delivered to clients.",
        (),
        [
            ("Client communication", 3, 3),
            ("Client focus", 2, 3),
            ("Quality of deliverables", 2, 3),
            ("Stakeholder management", 1, 3),
            ("Resilience", 1, 3),
        ],
    ),
    (
        "Internal improvement",
        "Engagement-specific competencies for internal initiatives.",
        (),
        [
            ("Problem structuring", 2, 3),
            ("Solution design", 2, 3),
            ("Collaboration", 2, 3),
            ("Learning agility", 1, 3),
        ],
    ),
]


def seed(organization: Organization) -> None:
    """Runs inside ``organization``'s tenant context (see ``demo.seed``)."""
    _scale(organization)
    if organization.slug != "acme":
        return
    ensure_default_categories(organization)
    categories = {c.name: c for c in CompetencyCategory.objects.all()}
    points = [Decimal(value) for value, _label, _text in SCALE_LEVELS]
    competencies: dict[str, Competency] = {}
    for name, category, description, descriptors in LIBRARY:
        competency, _created = Competency.objects.get_or_create(
            name=name,
            defaults={
                "organization": organization,
                "category": categories[category],
                "description": description,
            },
        )
        competencies[name] = competency
        for value, text in zip(points, descriptors, strict=True):
            CompetencyDescriptor.objects.get_or_create(
                competency=competency,
                value=value,
                defaults={"organization": organization, "text": text},
            )
    titles = {t.name: t for t in JobTitle.objects.all()}
    for set_name, description, title_names, items in SETS:
        competency_set, _created = CompetencySet.objects.get_or_create(
            name=set_name,
            defaults={"organization": organization, "description": description},
        )
        for title_name in title_names:
            if title_name in titles:
                CompetencySetJobTitle.objects.get_or_create(
                    competency_set=competency_set,
                    job_title=titles[title_name],
                    defaults={"organization": organization},
                )
        for competency_name, weight, expected in items:
            CompetencySetItem.objects.get_or_create(
                competency_set=competency_set,
                competency=competencies[competency_name],
                defaults={
                    "organization": organization,
                    "weight": Decimal(weight),
                    "expected_level": Decimal(expected),
                },
            )


def _scale(organization: Organization) -> RatingScale:
    scale = RatingScale.objects.filter(name=SCALE_NAME).first()
    if scale is None:
        has_default = RatingScale.objects.filter(is_default=True).exists()
        scale = RatingScale.objects.create(
            organization=organization,
            name=SCALE_NAME,
            min_value=Decimal(1),
            max_value=Decimal(5),
            step=Decimal(1),
            is_default=not has_default,
        )
    for value, label, description in SCALE_LEVELS:
        RatingLevel.objects.get_or_create(
            scale=scale,
            value=Decimal(value),
            defaults={
                "organization": organization,
                "label": label,
                "description": description,
            },
        )
    return scale
