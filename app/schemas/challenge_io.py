from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field


class ChallengeImportForm(BaseModel):
    """导入表单（multipart/form-data）：一个文件字段 `file`。"""

    model_config = ConfigDict(extra="forbid")

    file: UploadFile = Field(description="导出格式的 CSV（UTF-8）或 XLSX 文件")


class ChallengeImport(BaseModel):
    """导入结果：新建的草稿数与其编号（按文件中的行序）。"""

    created: int = Field(description="新建的草稿榜单数")
    ids: list[int] = Field(description="新建榜单的编号，按文件中的行序")
