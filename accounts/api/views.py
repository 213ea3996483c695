from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import ApiToken
from ..services import api_token_create, api_token_revoke
from ..throttling import LoginLockoutThrottle
from .serializers import ApiTokenCreatedSerializer, ApiTokenSerializer, TokenCreateSerializer


class TokenCreateView(APIView):
    """Exchange a username and password for a new API token (shown once, in this response)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LoginLockoutThrottle]

    @extend_schema(request=TokenCreateSerializer, responses={201: ApiTokenCreatedSerializer}, summary="创建 API 令牌")
    def post(self, request):
        serializer = TokenCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(
            user=serializer.validated_data["user"], name=serializer.validated_data.get("name", "")
        )
        token.token = key
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class TokenListView(generics.ListAPIView):
    """The caller's own tokens, without their keys."""

    serializer_class = ApiTokenSerializer
    permission_classes = [IsAuthenticated]
    filter_backends = []

    def get_queryset(self):
        return ApiToken.objects.filter(user=self.request.user)


class TokenRevokeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None}, summary="吊销 API 令牌")
    def delete(self, request, pk: int):
        get_object_or_404(ApiToken, user=request.user, pk=pk)
        api_token_revoke(user=request.user, token_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
