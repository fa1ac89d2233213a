"""Chinese keyword search: jieba-segmented tsvector (what the app stores) against pg_trgm.

PostgreSQL's text search parsers do not split Chinese into words. The app segments CJK text
with jieba (``knowledge.text_search.split_terms``) and stores ``to_tsvector('simple', ...)``; the
alternative is trigram matching with pg_trgm. This script puts 48 hand-written Chinese
transcript-like paragraphs (8 topics) in a table with both indexes and runs 24 hand-labelled
queries (the paragraphs that answer each were chosen by hand), ranking the first 10 by
``ts_rank_cd`` over the OR-ed query words, and by pg_trgm's ``word_similarity`` (the query
against the paragraph, ``<%`` with a 0.1 threshold). It prints MRR@10, hit@1, recall@3 and the
mean query time of each. The embedded PostgreSQL has no pg_trgm, so point ``--dsn`` at a server
that has it (the machine's own PostgreSQL, for example, run as its ``postgres`` user).
Last line: ``jieba_mrr=A trgm_mrr=B``.

    su postgres -c ".venv/bin/python bench/chinese_keyword.py --dsn 'dbname=postgres'"
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from knowledge.text_search import quote_lexeme, split_terms

CORPUS = [
    # 天文 0-5
    "木星是太阳系里最大的行星，它表面的大红斑其实是一场持续了几百年的风暴。",
    "土星的光环主要由冰块和岩石碎片组成，用小望远镜就能看到。",
    "月球绕地球一周大约需要二十七天，我们总是只看到它的同一面。",
    "彗星靠近太阳的时候，冰会升华，形成长长的彗尾。",
    "今晚有月全食，月亮会变成红铜色，不需要任何设备就能观看。",
    "银河系里有上千亿颗恒星，太阳只是其中很普通的一颗。",
    # 烘焙 6-11
    "做面包时要先把面粉、酵母和水混合，揉面十分钟左右，直到面团变得光滑有弹性。",
    "面团需要在温暖的地方发酵一个小时，体积大约变成原来的两倍。",
    "烤箱要提前预热到二百度，面包放进去烤二十五分钟，表皮变成金黄色就可以了。",
    "做蛋糕的时候，黄油和糖要打发到颜色变浅，这样口感才会松软。",
    "如果面包烤出来太硬，可能是面粉放多了，或者发酵时间不够。",
    "饼干的面团不用揉太久，否则烤出来会比较硬。",
    # 网络 12-17
    "路由器重启以后，家里的无线网络还是连不上，可能是密码被改了。",
    "防火墙会拦截可疑的数据包，保护公司内部的服务器。",
    "网络延迟高的时候，视频会议的画面就会卡顿，声音也会断断续续。",
    "域名解析出错的话，浏览器会提示找不到服务器地址。",
    "光纤入户以后，下载速度比原来的宽带快了十倍。",
    "交换机负责在局域网里转发数据，把电脑和打印机连在一起。",
    # 数据库 18-23
    "数据库的索引就像书后面的目录，可以让查询不用扫描整张表。",
    "向量数据库把句子变成一串数字，用来比较两句话的意思是否相近。",
    "事务保证一组修改要么全部成功，要么全部失败，不会只做一半。",
    "主从复制可以把数据同步到另一台服务器，主库坏了也能继续提供服务。",
    "表太大的时候可以按日期分区，查询最近的数据会快很多。",
    "慢查询通常是因为缺少索引，或者一次取回了太多行。",
    # 园艺 24-29
    "番茄喜欢阳光，每天至少要晒六个小时，浇水要在早上。",
    "堆肥可以用厨房里的菜叶和果皮，几个月以后就变成很好的肥料。",
    "春天是修剪玫瑰的好时候，剪掉枯枝，新芽会长得更好。",
    "多肉植物不需要经常浇水，土干透了再浇就可以。",
    "菜园里的杂草要及时拔掉，不然会和蔬菜抢养分。",
    "种子发芽需要合适的温度和湿度，太冷了就不会出芽。",
    # 医疗 30-35
    "发烧超过三天应该去医院检查，不要自己随便吃抗生素。",
    "接种疫苗以后手臂有点疼是正常反应，一两天就会好。",
    "高血压的病人要少吃盐，按时吃药，定期测量血压。",
    "护士提醒病人手术前八个小时不能吃东西也不能喝水。",
    "感冒和流感的症状很像，但流感通常会突然高烧，全身酸痛。",
    "每天睡够七个小时，对心脏和大脑都有好处。",
    # 音乐 36-41
    "学吉他先要练习基本的和弦，手指按弦一开始会有点疼。",
    "这首歌的旋律很简单，副歌部分大家都能跟着一起唱。",
    "钢琴练习的时候要用节拍器，帮助自己保持稳定的节奏。",
    "交响乐团里人数最多的是弦乐组，包括小提琴和大提琴。",
    "鼓手在乐队里负责节奏，其他乐手都要跟着他的速度。",
    "演唱会的门票几分钟就卖光了，很多歌迷没有抢到。",
    # 足球 42-47
    "守门员扑出了点球，帮助球队守住了一比零的比分。",
    "前锋在最后一分钟头球破门，全场球迷都站了起来。",
    "裁判给了他一张红牌，球队只能用十个人踢完下半场。",
    "这个赛季球队换了新教练，战术从防守反击变成了控球。",
    "比赛前球员们要热身二十分钟，避免拉伤肌肉。",
    "联赛还剩五轮，积分榜前两名只差一分。",
]

# query -> indexes of the paragraphs that answer it
QUERIES = {
    "木星的大红斑": [0],
    "土星光环是什么做的": [1],
    "月全食": [4],
    "彗尾是怎么形成的": [3],
    "揉面多久": [6],
    "面团发酵": [7, 6],
    "烤箱温度": [8],
    "面包太硬怎么办": [10, 11],
    "无线网络连不上": [12],
    "网络延迟 视频卡顿": [14],
    "防火墙": [13],
    "数据库索引": [18, 23],
    "向量数据库": [19],
    "事务": [20],
    "主从复制": [21],
    "番茄浇水": [24],
    "修剪玫瑰": [26],
    "发烧要不要去医院": [30],
    "疫苗反应": [31],
    "高血压饮食": [32],
    "吉他和弦": [36],
    "节拍器": [38],
    "点球": [42],
    "红牌": [44],
}


def jieba_query(cur: psycopg.Cursor, text: str) -> list[int]:
    _, words = split_terms(text)
    tsquery = " | ".join(quote_lexeme(w) for w in dict.fromkeys(words))
    cur.execute(
        "SELECT id FROM zh_bench, to_tsquery('simple', %s) q WHERE tsv @@ q "
        "ORDER BY ts_rank_cd(tsv, q) DESC, id LIMIT 10",
        [tsquery],
    )
    return [row[0] for row in cur.fetchall()]


def trgm_query(cur: psycopg.Cursor, text: str) -> list[int]:
    cur.execute(
        "SELECT id FROM zh_bench WHERE %s <%% content ORDER BY word_similarity(%s, content) DESC, id LIMIT 10",
        [text, text],
    )
    return [row[0] for row in cur.fetchall()]


def score(rankings: dict[str, list[int]]) -> dict[str, float]:
    rr, hit1, recall3 = [], [], []
    for query, relevant in QUERIES.items():
        ranked = rankings[query]
        first = next((i for i, pid in enumerate(ranked, 1) if pid in relevant), None)
        rr.append(1 / first if first else 0.0)
        hit1.append(1.0 if ranked[:1] and ranked[0] in relevant else 0.0)
        recall3.append(len(set(ranked[:3]) & set(relevant)) / len(relevant))
    return {"mrr": statistics.mean(rr), "hit@1": statistics.mean(hit1), "recall@3": statistics.mean(recall3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default="dbname=postgres")
    args = parser.parse_args()
    with psycopg.connect(args.dsn, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute("SET pg_trgm.word_similarity_threshold = 0.1")
        cur.execute("CREATE TEMP TABLE zh_bench (id int PRIMARY KEY, content text, tsv tsvector)")
        for pid, text in enumerate(CORPUS):
            _, words = split_terms(text)
            cur.execute("INSERT INTO zh_bench VALUES (%s, %s, to_tsvector('simple', %s))", [pid, text, " ".join(words)])
        cur.execute("CREATE INDEX ON zh_bench USING gin (tsv)")
        cur.execute("CREATE INDEX ON zh_bench USING gin (content gin_trgm_ops)")
        cur.execute("ANALYZE zh_bench")
        results = {}
        for name, run in (("jieba", jieba_query), ("trgm", trgm_query)):
            started = time.perf_counter()
            rankings = {q: run(cur, q) for q in QUERIES}
            elapsed = (time.perf_counter() - started) / len(QUERIES) * 1000
            results[name] = score(rankings)
            found = sum(bool(r) for r in rankings.values())
            for query, relevant in QUERIES.items():
                if rankings[query][:1] != relevant[:1] and not set(rankings[query][:1]) & set(relevant):
                    print(f"{name}: {query!r} ranked {rankings[query][:3]}, wanted {relevant}", file=sys.stderr)
            print(f"{name}: MRR@10 {results[name]['mrr']:.3f}, hit@1 {results[name]['hit@1']:.3f}, recall@3 "
                  f"{results[name]['recall@3']:.3f}, {found}/{len(QUERIES)} queries found anything, "
                  f"{elapsed:.2f} ms per query", file=sys.stderr)  # fmt: skip
    print(f"jieba_mrr={results['jieba']['mrr']:.3f} trgm_mrr={results['trgm']['mrr']:.3f}")


if __name__ == "__main__":
    main()
