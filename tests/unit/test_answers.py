from gsi_core.answers import extract_boxed_answer, has_boxed_answer


def test_last_boxed_answer_with_nested_braces():
    text = r"First \boxed{1}. So the answer is $\boxed{\frac{1}{2}}$."
    assert extract_boxed_answer(text) == r"\frac{1}{2}"


def test_unfinished_box_is_no_answer():
    assert extract_boxed_answer(r"so \boxed{\frac{1}{2}") is None
    assert not has_boxed_answer(r"so \boxed{12")
    assert has_boxed_answer(r"so \boxed {12}") and extract_boxed_answer(r"\fbox{7}") == "7"
