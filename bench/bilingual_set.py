"""A bilingual retrieval set for bench/bilingual.py: transcript-like paragraphs (spoken style,
Mandarin partly unpunctuated as whisper base writes it) on 40 English and 40 Chinese subjects,
no subject in both languages, and for each paragraph a paraphrased question in its own language
and one in the other language.

Each entry: (paragraph, question in the same language, question in the other language).
"""

ENGLISH = [
    (
        "Okay so the database backups, right now we take a full snapshot every night at two a.m. and it takes "
        "about forty minutes, and nobody has actually tried restoring one since March, so I'd like us to do a "
        "restore drill next week.",
        "when was a restore from the nightly snapshot last tested",
        "我们多久没有测试过从夜间快照恢复数据了",
    ),
    (
        "We finally have budget for a front-end hire. The role is mostly React and accessibility work, and we "
        "want someone who has shipped a design system before. Priya will run the first interviews.",
        "who does the first round of interviews for the web developer job",
        "前端工程师的岗位由谁负责第一轮面试",
    ),
    (
        "About the office move: the lease on the third floor ends in June, the new place on Harbour Street has "
        "room for sixty desks, and movers are booked for the last weekend of May.",
        "when are the movers coming to relocate the office",
        "搬家公司什么时候来搬办公室",
    ),
    (
        "European sales were down eight percent this quarter, mostly Germany, where two big retail customers "
        "delayed their orders until the autumn. France and Spain were flat.",
        "which country caused the drop in revenue in Europe",
        "欧洲哪个国家导致了本季度销售额下降",
    ),
    (
        "So the churn numbers. Customers on the monthly plan leave at about four percent a month, annual ones "
        "under one percent, so the idea is to offer two free months when someone switches to annual billing.",
        "how do we plan to persuade monthly subscribers to stay longer",
        "我们打算怎样让按月付费的客户留得更久",
    ),
    (
        "For onboarding, every new starter gets a buddy for the first month, a laptop ready on day one, and a "
        "checklist in the wiki. The feedback was that the first week still feels chaotic.",
        "what do new employees receive when they join",
        "新员工入职第一天会拿到什么",
    ),
    (
        "Last Tuesday someone in accounts clicked a fake invoice email and typed their password into a copy of "
        "our login page. We reset the account within an hour and we're turning on hardware keys for finance.",
        "what happened after the phishing email fooled a colleague",
        "有同事被钓鱼邮件骗了之后我们采取了什么措施",
    ),
    (
        "In today's lecture we look at photosynthesis in desert plants. Cacti open their pores at night to take "
        "in carbon dioxide and store it as an acid, then close them during the hot day to save water.",
        "why do cactus plants breathe at night instead of during the day",
        "仙人掌为什么在夜里而不是白天吸收二氧化碳",
    ),
    (
        "The Roman aqueducts carried water from springs in the hills using nothing but gravity. The slope was "
        "tiny, sometimes a few centimetres per hundred metres, over tens of kilometres.",
        "how did ancient Rome move water into the city without pumps",
        "古罗马人没有水泵是怎么把水引进城里的",
    ),
    (
        "If your sourdough is too dense, the starter was probably not active enough. Feed it twice a day for a "
        "few days and only bake when it doubles within about six hours.",
        "my loaf of bread came out heavy and flat, what should I change",
        "我做的酸面包太硬太密，应该怎么改进",
    ),
    (
        "The mobile app crashes on older Android phones when the user opens the camera screen. It's a memory "
        "issue with the image preview, and the fix goes out in version four point two on Thursday.",
        "when will the camera bug on old phones be fixed",
        "旧安卓手机打开相机就闪退的问题什么时候修好",
    ),
    (
        "Our cloud bill jumped thirty percent in October because a test cluster was left running over the "
        "weekend with twenty large instances. We're adding automatic shutdown for anything tagged test.",
        "why was last month's hosting invoice so much higher",
        "为什么十月份的云服务账单涨了这么多",
    ),
    (
        "For the marathon training plan, the long run goes up by no more than ten percent a week, and every "
        "fourth week is an easier recovery week to avoid injuries.",
        "how quickly should the weekly distance increase when preparing for a race",
        "备战马拉松时每周的跑量应该增加多少",
    ),
    (
        "The city council voted to close Main Street to cars on Sundays from May to September, so the "
        "farmers market can spread out and cafes can put tables on the road.",
        "which road will be pedestrian only on weekends in summer",
        "夏天周日哪条街会禁止汽车通行",
    ),
    (
        "Our support team answers most tickets within four hours, but chat messages that arrive after six in "
        "the evening wait until the next morning, which is where most of the bad reviews come from.",
        "why are customers leaving poor reviews about support",
        "客户为什么给客服打差评",
    ),
    (
        "Volcanoes like the ones in Iceland sit on a rift where two plates pull apart, so the magma rises "
        "easily and the eruptions are usually long lava flows rather than explosions.",
        "why do Icelandic eruptions produce flowing lava instead of blasts",
        "为什么冰岛的火山喷发多是熔岩流而不是爆炸",
    ),
    (
        "We're switching the warehouse scanners from the old barcode guns to phones with an app. Training is "
        "two short sessions and the rollout starts in the Leeds site first.",
        "which location gets the new handheld scanning app first",
        "仓库的新扫码应用先在哪个地点上线",
    ),
    (
        "The piano recital is on the twelfth, students play in order of age, and each one has about five "
        "minutes. Parents should arrive by six thirty because the doors close at seven.",
        "what time should families get to the music performance",
        "家长应该几点到达钢琴演奏会",
    ),
    (
        "Tomatoes split when they get a lot of water after a dry spell. Water deeply twice a week and put "
        "mulch around the plants to keep the soil evenly moist.",
        "why do my garden tomatoes crack open",
        "我种的西红柿为什么会裂开",
    ),
    (
        "The new expense policy says receipts must be uploaded within thirty days, hotel stays are capped at "
        "one hundred and fifty pounds a night, and first class travel needs a director's approval.",
        "what is the nightly limit for accommodation on business trips",
        "出差住酒店每晚最多能报销多少钱",
    ),
    (
        "When you deploy on Fridays, make sure someone is on call until Sunday. Two of the last three outages "
        "started with a late Friday release and nobody watching the alerts.",
        "what went wrong with the recent service outages",
        "最近几次服务中断是怎么引起的",
    ),
    (
        "Black holes don't suck everything in like a vacuum cleaner. Far away, their gravity is the same as a "
        "star of the same mass; only close to the event horizon does it become extreme.",
        "is the pull of a black hole different from a star with the same mass",
        "黑洞的引力和同样质量的恒星有什么区别",
    ),
    (
        "The kids' football club needs two more volunteer coaches for the under nines. Training is Saturday "
        "mornings and there's a free safeguarding course for anyone who signs up.",
        "the youth soccer team is looking for helpers, what do they need",
        "少儿足球俱乐部在招什么志愿者",
    ),
    (
        "Interest rates went up again, so the monthly payment on a variable mortgage of two hundred thousand "
        "rose by about ninety pounds. Fixed rate deals are now cheaper than variable ones.",
        "how much more are people paying on home loans after the rate rise",
        "加息以后房贷每个月多还多少",
    ),
    (
        "Our podcast downloads doubled after we started publishing short clips on social media. The clips "
        "under a minute did best, especially ones with captions burned in.",
        "what helped the show get more listeners",
        "播客的下载量为什么翻倍了",
    ),
    (
        "The hospital is trialling a text message reminder the day before appointments. Missed visits dropped "
        "from twelve percent to seven percent in the first two months.",
        "did reminders reduce the number of patients who don't show up",
        "医院短信提醒之后爽约的病人少了多少",
    ),
    (
        "For the chemistry practical, wear goggles the whole time, add the acid to the water and never the "
        "other way round, and label every beaker before you start.",
        "what is the safe way to dilute acid in the lab",
        "实验课上稀释酸的时候应该注意什么顺序",
    ),
    (
        "The translation of the user manual into Japanese and Korean is done; Arabic is delayed because the "
        "layout has to be mirrored from right to left, which needs a designer.",
        "why is the Arabic version of the guide late",
        "阿拉伯语版说明书为什么推迟了",
    ),
    (
        "Electric buses on route twelve save the city about forty thousand litres of diesel a year, but the "
        "batteries lose range in winter, so two spare buses are kept charged at the depot.",
        "what problem do the battery buses have in cold weather",
        "电动公交车冬天有什么问题",
    ),
    (
        "Honey bees communicate where flowers are with a waggle dance. The angle of the dance shows the "
        "direction relative to the sun and its length shows the distance.",
        "how do bees tell each other where to find food",
        "蜜蜂怎样告诉同伴花在哪里",
    ),
    (
        "The team offsite will be in the Lake District, we'll do a hike on the first day and planning sessions "
        "on the second. Vegetarian meals are the default, tell Sam about allergies.",
        "where is the company retreat taking place",
        "团队外出活动在什么地方举行",
    ),
    (
        "Password rules are changing: no more forced changes every ninety days, but passwords must be at least "
        "fourteen characters and we check them against lists of leaked passwords.",
        "do we still have to reset our login credentials every three months",
        "我们还需要每三个月改一次密码吗",
    ),
    (
        "In the history seminar we discussed why the printing press spread so fast: paper was cheap, cities "
        "had literate merchants, and printers could sell pamphlets during religious disputes.",
        "what made Gutenberg's invention spread across Europe quickly",
        "印刷术为什么在欧洲传播得那么快",
    ),
    (
        "The food truck has been losing money on weekdays. Lunch at the business park is busy only on "
        "Tuesdays and Thursdays, so we'll skip Mondays and Fridays and do evening markets instead.",
        "which days will the mobile kitchen stop going to the office park",
        "流动餐车哪几天不再去商务园区",
    ),
    (
        "Sleep researchers say screens before bed are less of a problem than irregular hours. Going to bed "
        "and getting up at the same time every day matters most.",
        "what is the most important habit for sleeping well",
        "想睡得好最重要的习惯是什么",
    ),
    (
        "The solar panels on the school roof produced more than we expected, about sixty percent of our "
        "electricity in summer, and the surplus is sold back to the grid.",
        "how much power does the school get from its rooftop panels",
        "学校屋顶的太阳能板能提供多少电",
    ),
    (
        "Customers keep asking for a dark mode. Design says it's about three weeks of work because every "
        "chart colour has to be checked for contrast.",
        "why will the night theme take a while to build",
        "为什么深色模式要做三周",
    ),
    (
        "The wine harvest came two weeks early this year because of the heat. The grapes have more sugar, so "
        "the wines will be stronger, but the acidity is lower.",
        "how did the hot summer change the vineyard's grapes",
        "今年的高温对葡萄有什么影响",
    ),
    (
        "The library will stay open until midnight during exam weeks, with the quiet floor reserved for "
        "students, and the cafe downstairs will sell coffee until ten.",
        "how late can students study in the library before exams",
        "考试周图书馆开到几点",
    ),
    (
        "Whales sing songs that change every year, and males in the same ocean all switch to the new song, "
        "which spreads from one population to another like a fashion.",
        "do humpback songs stay the same over time",
        "鲸鱼的歌声会随着时间变化吗",
    ),
]

CHINESE = [
    (
        "关于年终奖 今年公司整体利润涨了百分之十五 所以年终奖按三个月工资发 一月底之前打到大家卡上",
        "年底奖金发几个月的薪水",
        "how many months of salary will the year-end bonus be",
    ),
    (
        "新品发布会定在下个月十号 地点在上海的会展中心 邀请了五十家媒体 现场会演示新款智能手表的健康监测功能",
        "新产品的发布活动在哪个城市举行",
        "where will the product launch event be held",
    ),
    (
        "机房的空调上周坏了两次 温度一度升到四十度 有三台服务器自动关机了 我们已经申请再加一台备用空调",
        "服务器为什么会自己关机",
        "why did some servers shut down by themselves",
    ),
    (
        "客服这边最近投诉主要集中在退款太慢 平均要七个工作日 我们打算把审核流程缩短到三天以内",
        "顾客最近主要在抱怨什么问题",
        "what are customers mostly complaining about lately",
    ),
    (
        "食堂下个月开始调整菜单 每天增加一个素食窗口 晚饭供应时间延长到八点 价格保持不变",
        "员工餐厅的晚餐会供应到几点",
        "until what time will the canteen serve dinner",
    ),
    (
        "这次团建我们去爬黄山 周五晚上坐高铁出发 周日下午回来 身体不方便的同事可以选择坐缆车",
        "公司集体活动去哪座山",
        "which mountain is the team outing going to",
    ),
    (
        "物流这边因为台风 华南地区的快递普遍延迟两到三天 我们已经在官网上发了公告提醒用户",
        "为什么南方的包裹送得慢",
        "why are parcels to southern China arriving late",
    ),
    (
        "报销流程改了 以后发票要在系统里拍照上传 纸质发票月底统一交给财务 超过五千元需要部门经理签字",
        "大额费用报销需要谁批准",
        "who has to sign off on large expense claims",
    ),
    (
        "数据迁移到云上的工作分三步 先迁移测试环境 再迁移报表系统 最后是核心交易数据库 预计明年三月完成",
        "核心数据库什么时候搬到云端",
        "when will the main transaction database move to the cloud",
    ),
    (
        "今年暑假招二十个实习生 主要是计算机和统计专业 实习期两个月 表现好的可以直接拿到正式录用通知",
        "暑期实习的学生需要什么专业背景",
        "what subjects should the summer interns be studying",
    ),
    (
        "今天这节课讲光合作用 植物的叶绿体利用阳光把二氧化碳和水变成葡萄糖 同时释放出氧气",
        "植物怎么利用阳光制造养分",
        "how do plants turn sunlight into food",
    ),
    (
        "唐朝的长安城是当时世界上最大的城市 人口超过一百万 城里有东市和西市 来自波斯和阿拉伯的商人在这里做生意",
        "古代长安有多少居民",
        "how many people lived in the Tang dynasty capital",
    ),
    (
        "量子计算机用的是量子比特 它可以同时处于零和一的叠加状态 所以某些问题比如分解大数会比普通计算机快很多",
        "量子电脑为什么在某些计算上更快",
        "why are quantum computers faster for some problems",
    ),
    (
        "大熊猫的栖息地主要在四川 陕西和甘肃的山区 经过几十年的保护 野生大熊猫的数量已经超过一千八百只",
        "野外现在大概有多少只熊猫",
        "how many giant pandas live in the wild now",
    ),
    (
        "绿茶和红茶其实来自同一种茶树 区别在于加工 绿茶采摘后马上杀青 红茶则要经过完全发酵",
        "绿茶和红茶的制作方法有什么不同",
        "what is the difference between how green and black tea are made",
    ),
    (
        "围棋的规则很简单 黑白双方轮流在棋盘的交叉点上落子 最后比谁围住的地盘更大",
        "下围棋最后怎么判断输赢",
        "how is the winner decided in the game of go",
    ),
    (
        "高铁从北京到上海现在最快四个半小时 比飞机算上去机场和安检的时间差不多 而且准点率更高",
        "京沪之间坐火车要多长时间",
        "how long does the high speed train take from Beijing to Shanghai",
    ),
    (
        "汉字最早是刻在龟甲和兽骨上的甲骨文 后来经过金文 小篆 隶书 慢慢演变成今天的楷书",
        "中国文字最早刻在什么东西上",
        "what were the earliest Chinese characters carved on",
    ),
    (
        "长城不是一次建成的 从春秋战国开始各国就修筑城墙 我们今天看到的砖石长城大部分是明朝修的",
        "现在看到的城墙主要是哪个朝代建的",
        "which dynasty built most of the Great Wall we see today",
    ),
    (
        "手机应用最近一个版本上线后 登录页面在部分苹果手机上白屏 原因是新加的字体文件太大 我们今晚会回滚",
        "新版本的应用登录时出了什么问题",
        "what went wrong with the login screen in the latest app release",
    ),
    (
        "市场部建议明年把一半的推广预算放到短视频平台上 去年抖音上的广告带来的新用户成本只有搜索广告的一半",
        "为什么要把广告费转向短视频",
        "why does marketing want to spend more on short video ads",
    ),
    (
        "和主要供应商的合同年底到期 对方想涨价百分之八 我们的底线是百分之五 同时在和另外两家谈",
        "供货商提出涨价多少",
        "how big a price increase is the supplier asking for",
    ),
    (
        "专利申请已经提交了 主要保护我们电池散热的结构设计 审查一般要一年半左右 期间可以先标注专利申请中",
        "我们的发明专利保护的是什么技术",
        "what does the patent application cover",
    ),
    (
        "办公室的网络最近特别慢 查下来是有人在用公司网络下载大文件 以后会对单台电脑限速",
        "公司上网速度变慢的原因是什么",
        "why has the office internet connection been so slow",
    ),
    (
        "根据新的个人信息保护法 用户注销账号以后 我们必须在十五天内删除他的全部数据 包括备份里的",
        "用户注销以后数据要多久删掉",
        "how soon must we erase a user's data after they close their account",
    ),
    (
        "春节放假安排是从二月九号到十七号 一共九天 二月四号和十八号周日要补班",
        "过年一共放几天假",
        "how many days off do we get for the spring festival",
    ),
    (
        "华东区今年的销售目标是两个亿 上半年只完成了百分之四十 下半年要靠双十一和年底的大客户订单",
        "东部地区上半年的业绩完成得怎么样",
        "how far along is the eastern region toward its sales target",
    ),
    (
        "会议室预订系统下周换新的 可以直接在企业微信里订 超过十五分钟没人签到 预订会自动取消",
        "订了会议室没去会怎么样",
        "what happens if nobody shows up for a booked meeting room",
    ),
    (
        "中医讲究顺应季节 秋天天气干燥 建议多吃梨和百合 少吃辛辣的东西 早睡早起",
        "秋季养生应该吃些什么",
        "what foods are recommended for staying healthy in autumn",
    ),
    (
        "这家饺子馆开了三十年 最有名的是三鲜馅 每天早上老板自己和面 周末排队要排一个小时",
        "这家老店最出名的是哪种馅",
        "which filling is the dumpling restaurant famous for",
    ),
    (
        "电动汽车的电池在冬天续航会下降三成左右 因为低温下电池的化学反应变慢 还要用电给车厢加热",
        "天冷的时候电车为什么跑不远",
        "why do electric cars lose range in winter",
    ),
    (
        "今年的英语四级考试定在十二月十六号 报名九月底截止 学校图书馆四楼每天晚上有免费的模拟考试",
        "大学英语考试的报名什么时候结束",
        "when is the deadline to register for the college english exam",
    ),
    (
        "直播带货这个季度的退货率特别高 达到了百分之三十 主要是衣服尺码不准 我们准备在商品页加详细的尺码表",
        "直播卖的衣服为什么退货那么多",
        "why are so many livestream clothing orders being returned",
    ),
    (
        "垃圾分类以后 小区的垃圾分成四类 可回收物 厨余垃圾 有害垃圾和其他垃圾 每天早晚各收一次",
        "小区的废物要分成几种",
        "how many kinds of rubbish must residents sort",
    ),
    (
        "熬夜对身体的影响很大 长期睡眠不足会让免疫力下降 记忆力变差 专家建议成年人每天睡七到八个小时",
        "成年人每天需要睡多久",
        "how many hours of sleep do adults need each night",
    ),
    (
        "我们的客服机器人上线三个月 能自动回答百分之六十的常见问题 但是遇到退款和投诉还是要转人工",
        "智能客服解决不了哪些问题",
        "which requests does the chatbot still hand over to human agents",
    ),
    (
        "敦煌莫高窟有七百多个洞窟 壁画总面积四万多平方米 为了保护壁画 每天的参观人数限制在六千人",
        "敦煌石窟每天最多接待多少游客",
        "how many visitors a day are allowed into the Mogao caves",
    ),
    (
        "下个季度起 周三和周五可以在家办公 但是每周一的例会必须到公司参加 特殊情况要提前跟主管说",
        "哪几天允许居家办公",
        "on which days can staff work from home",
    ),
    (
        "无人机送外卖在深圳已经试点了一年 平均送达时间比骑手快十分钟 但是下雨和大风天不能飞",
        "用无人机送餐有什么限制",
        "what limits do food delivery drones have",
    ),
    (
        "这学期的数学期末考试范围是第一章到第六章 重点是函数和导数 考试时间两个小时 可以带计算器",
        "期末数学考试考哪些内容",
        "what topics does the final maths exam cover",
    ),
]
