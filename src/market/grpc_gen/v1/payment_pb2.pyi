from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CouponDefinition(_message.Message):
    __slots__ = ("id", "name", "discount_type", "discount_value", "max_discount", "min_order_amount", "valid_from", "valid_until")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    MIN_ORDER_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    discount_type: str
    discount_value: int
    max_discount: int
    min_order_amount: int
    valid_from: str
    valid_until: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., discount_type: _Optional[str] = ..., discount_value: _Optional[int] = ..., max_discount: _Optional[int] = ..., min_order_amount: _Optional[int] = ..., valid_from: _Optional[str] = ..., valid_until: _Optional[str] = ...) -> None: ...

class IssuedCoupon(_message.Message):
    __slots__ = ("id", "definition", "member_id", "status", "order_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    definition: CouponDefinition
    member_id: str
    status: str
    order_id: str
    def __init__(self, id: _Optional[str] = ..., definition: _Optional[_Union[CouponDefinition, _Mapping]] = ..., member_id: _Optional[str] = ..., status: _Optional[str] = ..., order_id: _Optional[str] = ...) -> None: ...

class GetIssuedCouponRequest(_message.Message):
    __slots__ = ("coupon_id",)
    COUPON_ID_FIELD_NUMBER: _ClassVar[int]
    coupon_id: str
    def __init__(self, coupon_id: _Optional[str] = ...) -> None: ...

class GetIssuedCouponReply(_message.Message):
    __slots__ = ("found", "coupon")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    COUPON_FIELD_NUMBER: _ClassVar[int]
    found: bool
    coupon: IssuedCoupon
    def __init__(self, found: _Optional[bool] = ..., coupon: _Optional[_Union[IssuedCoupon, _Mapping]] = ...) -> None: ...
