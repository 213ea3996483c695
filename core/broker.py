"""kombu's Redis transport with one repair: an acknowledgement that fails still frees its slot.

A worker holds at most `prefetch` unacknowledged messages. With Redis, acknowledging a message
removes it from Redis's "unacked" index and then from the worker's own count. When Redis does
not answer in time (frozen, `REDIS_SOCKET_TIMEOUT`), kombu (5.5 and 5.7 alike) raises before the
second step; Celery logs "Couldn't ack … TimeoutError" and goes on, but the worker still counts
the message as held. One such ack per pool slot and the worker never asks for another message:
alive, answering, consuming nothing until restarted (tests/drills/test_redis_frozen_busy.py).

Here the worker's count is decremented whatever Redis answered. The message itself stays in
Redis's unacked index, so after the visibility timeout (`CELERY_VISIBILITY_TIMEOUT`) it is handed
out again and its task runs a second time: every task that acknowledges late is idempotent
(the outbox claim, the reminder ledger, the export job's claim), and the others acknowledged
before they ran. Selected in tracker/settings.py (`CELERY_BROKER_TRANSPORT`) when Redis is the
broker."""

from kombu.transport import redis, virtual


class QoS(redis.QoS):
    def ack(self, delivery_tag):
        try:
            self._remove_from_indices(delivery_tag).execute()
        finally:
            # The slot is freed even if Redis did not answer (the error still reaches Celery,
            # which logs it): otherwise the worker waits for ever for a slot it already has.
            virtual.QoS.ack(self, delivery_tag)


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
