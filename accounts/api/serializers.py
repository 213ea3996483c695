from django.contrib.auth import authenticate
from rest_framework import serializers

from core.validators import guard_fields

from ..models import ApiToken


class TokenCreateSerializer(serializers.Serializer):
    username = serializers.CharField(label="用户名", max_length=150)
    password = serializers.CharField(
        label="密码", style={"input_type": "password"}, trim_whitespace=False, write_only=True, max_length=128
    )
    name = serializers.CharField(label="令牌名称", required=False, allow_blank=True, max_length=100)

    def get_fields(self):
        fields = super().get_fields()
        # The name is text people read later; the credentials are left as they are.
        guard_fields({"name": fields["name"]}, text=serializers.CharField, date=())
        return fields

    def validate(self, attrs):
        user = authenticate(request=self.context["request"], username=attrs["username"], password=attrs["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError("用户名或密码不正确。", code="authorization")
        attrs["user"] = user
        return attrs


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed: never its key."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """The one response that carries the key."""

    token = serializers.CharField(read_only=True, help_text="令牌明文，仅在创建时返回一次，请妥善保存。")

    class Meta(ApiTokenSerializer.Meta):
        fields = ApiTokenSerializer.Meta.fields + ["token"]
        read_only_fields = fields
