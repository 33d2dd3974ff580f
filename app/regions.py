"""Chinese names of the counties in settings REGIONS (GB/T 2260, 朝阳市 and its counties)."""

REGION_NAMES: dict[str, str] = {
    # 211300 is the city's own code: items filed at city level, not in one county.
    "211300": "朝阳市本级",
    "211302": "双塔区",
    "211303": "龙城区",
    "211321": "朝阳县",
    "211322": "建平县",
    "211324": "喀喇沁左翼蒙古族自治县",
    "211381": "北票市",
    "211382": "凌源市",
}


def region_name(code: str) -> str:
    """The county's Chinese name, or its code when it is not one of Chaoyang's."""
    return REGION_NAMES.get(code, code)
