from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetMemberRequest(_message.Message):
    __slots__ = ("member_id",)
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    def __init__(self, member_id: _Optional[str] = ...) -> None: ...

class GetMemberReply(_message.Message):
    __slots__ = ("found", "id", "email", "name", "role", "status", "point_balance", "locale")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    POINT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    found: bool
    id: str
    email: str
    name: str
    role: str
    status: str
    point_balance: int
    locale: str
    def __init__(self, found: _Optional[bool] = ..., id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ..., status: _Optional[str] = ..., point_balance: _Optional[int] = ..., locale: _Optional[str] = ...) -> None: ...

class UsePointsRequest(_message.Message):
    __slots__ = ("member_id", "order_id", "amount")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    order_id: str
    amount: int
    def __init__(self, member_id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class UsePointsReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RefundPointsRequest(_message.Message):
    __slots__ = ("member_id", "order_id", "amount", "refund_id")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUND_ID_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    order_id: str
    amount: int
    refund_id: str
    def __init__(self, member_id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[int] = ..., refund_id: _Optional[str] = ...) -> None: ...

class RefundPointsReply(_message.Message):
    __slots__ = ("refunded",)
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    refunded: int
    def __init__(self, refunded: _Optional[int] = ...) -> None: ...
