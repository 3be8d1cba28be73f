"""A class page shows the class's programme figures, each the length of the list it links to."""

import re

from lms.accounts.models import Role
from tests.factories import complete_course, make_class, make_organizer, make_trainee


def test_the_class_page_s_figures_are_the_lengths_of_their_lists(app, client, auth):
    cohort, instructor, people = make_class(trainees=("Nguyễn Thị Hường", "Trần Văn Bình", "Lê Thị Lan"))
    complete_course(people[0], cohort.course)
    make_trainee(enrolled_in=cohort.course, full_name="Ngoài Lớp")  # in the course, not in the class
    auth.login(make_organizer(phone="0912888111").phone)
    html = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    section = html.split('id="progress"')[1].split("</section>")[0]
    links = re.findall(r'href="(/reports/trainees/[^"]+)">([\d.]+)</a>', section)
    assert len(links) == 6
    numbers = {href.split("/")[3].split("?")[0]: int(n) for href, n in links}
    assert numbers["enrolled"] == 3 and numbers["completed"] == 1 and numbers["started"] == 1
    for href, number in links:
        listed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert int(re.search(r'class="list-count">(\d+)', listed).group(1)) == int(number), href
        assert "Ngoài Lớp" not in listed


def test_an_instructor_reads_the_class_s_figures_without_links_to_programme_lists(app, client, auth):
    cohort, instructor, _people = make_class()
    auth.login(instructor.phone)
    html = client.get(f"/cohorts/{cohort.code}").get_data(as_text=True)
    section = html.split('id="progress"')[1].split("</section>")[0]
    assert "/reports/trainees/" not in section
    assert re.search(r'<strong class="funnel-number">2</strong>\s*<span>Lượt ghi danh</span>', section)
    assert client.get(f"/reports/trainees/enrolled?cohort={cohort.id}").status_code == 403
    assert Role.INSTRUCTOR in instructor.roles
