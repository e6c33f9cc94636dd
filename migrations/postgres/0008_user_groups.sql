-- Group memberships as rows, so "the leads of a team" is an indexed lookup instead of a
-- scan of every user's groups. Rewritten with users.groups_json at every sign-in.
CREATE TABLE user_groups (
    group_name TEXT NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_name, user_id)
);
CREATE INDEX user_groups_user ON user_groups (user_id);
INSERT INTO user_groups (group_name, user_id)
SELECT DISTINCT g, u.id FROM users u, json_array_elements_text(u.groups_json::json) g;
