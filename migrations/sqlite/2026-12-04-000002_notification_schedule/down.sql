DROP TABLE notification_schedule;
